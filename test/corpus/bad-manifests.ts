// The corpus of manifests strangler must refuse: each entry is a mutation of a fresh valid base
// manifest (test/helpers/manifest-text.ts) or a full text, with the error it must produce.
// Injection entries are generated: every string field that reaches nginx.conf (or names
// something in it) × every payload that could break out of a directive or fool a reader.
import type { ManifestCode } from '../../gateway/manifest/errors';
import { baseManifest, manifestText, type ManifestData } from '../helpers/manifest-text';

export interface BadManifest {
  name: string;
  /** Changes a fresh baseManifest(); or `text`, the whole file. */
  mutate?: (m: ManifestData) => void;
  text?: () => string;
  /** Manifest path of the expected diagnostic; "" for the whole file. */
  path: string;
  code: ManifestCode;
}

export function corpusText(entry: BadManifest): string {
  if (entry.text) return entry.text();
  const m = baseManifest();
  entry.mutate!(m);
  return manifestText(m);
}

// ---------------------------------------------------------------------------------------------
// Injection: field × payload

export const PAYLOADS: Record<string, string> = {
  'semicolon': ';',
  'open brace': '{',
  'close brace': '}',
  'double quote': '"',
  'single quote': "'",
  'hash': '#',
  'variable': '$host',
  'newline': '\n',
  'carriage return': '\r',
  'tab': '\t',
  'NUL': '\0',
  'backslash': '\\',
  'space': ' ',
  'Cyrillic look-alike a': '\u0430',
  'fullwidth solidus': '\uff0f',
  'right-to-left override': '\u202e',
  'zero-width space': '\u200b',
};

interface Field {
  field: string;
  path: string;
  code: ManifestCode;
  set: (m: ManifestData, payload: string) => void;
  /** Payloads this field accepts (and quotes): tested as accepted elsewhere, not here. */
  accepts?: string[];
}

const r = (m: ManifestData, i: number) => m.routes[i];

const FIELDS: Field[] = [
  { field: 'route id', path: 'routes[0].id', code: 'STR_BAD_ID', set: (m, p) => { r(m, 0).id = `tr${p}ack`; } },
  { field: 'prefix path', path: 'routes[0].match.prefix', code: 'STR_BAD_PATH', set: (m, p) => { r(m, 0).match.prefix = `/api/v1${p}track`; }, accepts: ["'"] },
  { field: 'exact path', path: 'routes[1].match.exact', code: 'STR_BAD_PATH', set: (m, p) => { r(m, 1).match.exact = `/api/v1/ord${p}ers`; }, accepts: ["'"] },
  // A regex may hold any printable ASCII (quoted in nginx.conf); only control and non-ASCII characters are refused.
  { field: 'regex', path: 'routes[2].match.regex', code: 'STR_UNSAFE_STRING', set: (m, p) => { r(m, 2).match.regex = `^/docs/${p}.+\\.pdf$`; }, accepts: [';', '{', '}', '"', "'", '#', '$host', '\\', ' '] },
  { field: 'server address', path: 'upstreams.legacy.servers[0]', code: 'STR_BAD_ADDRESS', set: (m, p) => { m.upstreams.legacy.servers[0] = `127.0.0${p}.1:8081`; } },
  { field: 'server port', path: 'upstreams.functions.servers[0]', code: 'STR_BAD_ADDRESS', set: (m, p) => { m.upstreams.functions.servers[0] = `127.0.0.1:80${p}82`; } },
  // A space separates server names.
  { field: 'server_name', path: 'server_name', code: 'STR_UNSAFE_STRING', set: (m, p) => { m.server_name = `api.exa${p}mple.no`; }, accepts: [' '] },
  {
    field: 'upstream name', path: '', code: 'STR_BAD_NAME', set: (m, p) => {
      m.upstreams[`sea${p}rch`] = m.upstreams.search;
      delete m.upstreams.search;
    },
  },
  { field: 'function name', path: 'routes[0].to', code: 'STR_BAD_TARGET', set: (m, p) => { r(m, 0).to = `function:track${p}-package`; } },
  { field: 'async function name', path: 'routes[1].to', code: 'STR_BAD_TARGET', set: (m, p) => { r(m, 1).to = `async:order${p}-intake`; } },
  { field: 'target upstream name', path: 'routes[3].to', code: 'STR_BAD_TARGET', set: (m, p) => { r(m, 3).to = `upstream:sea${p}rch`; } },
  { field: 'sticky cookie name', path: 'routes[0].canary.sticky', code: 'STR_BAD_STICKY', set: (m, p) => { r(m, 0).canary.sticky = `cookie:session${p}_id`; } },
  { field: 'sticky header name', path: 'routes[3].canary.sticky', code: 'STR_BAD_STICKY', set: (m, p) => { r(m, 3).canary.sticky = `header:X-${p}User`; } },
  { field: 'salt', path: 'routes[0].canary.salt', code: 'STR_UNSAFE_STRING', set: (m, p) => { r(m, 0).canary.salt = `v${p}1`; } },
  { field: 'listen address', path: 'listen', code: 'STR_BAD_ADDRESS', set: (m, p) => { m.listen = `127.0.0.1:80${p}80`; } },
  { field: 'gateway admin address', path: 'gateway.admin', code: 'STR_BAD_ADDRESS', set: (m, p) => { m.gateway.admin = `127.0.0${p}.1:8091`; } },
  { field: 'server_name list item', path: 'server_name[1]', code: 'STR_UNSAFE_STRING', set: (m, p) => { m.server_name = ['api.example.no', `www.exa${p}mple.no`]; } },
  { field: 'tls certificate path', path: 'tls.certificate', code: 'STR_BAD_FILE_PATH', set: (m, p) => { m.tls = { certificate: `/etc/ssl/ce${p}rt.pem`, certificate_key: '/nonexistent/key.pem' }; } },
  { field: 'tls key path', path: 'tls.certificate_key', code: 'STR_BAD_FILE_PATH', set: (m, p) => { m.tls = { certificate: '/nonexistent/cert.pem', certificate_key: `/etc/ssl/k${p}ey.pem` }; } },
  { field: 'acme webroot', path: 'tls.acme_webroot', code: 'STR_BAD_FILE_PATH', set: (m, p) => { m.tls = { certificate: '/nonexistent/cert.pem', certificate_key: '/nonexistent/key.pem', acme_webroot: `/var/www/ac${p}me` }; } },
  { field: 'gateway tls certificate path', path: 'gateway.tls.certificate', code: 'STR_BAD_FILE_PATH', set: (m, p) => { m.gateway.tls = { certificate: `/etc/ssl/ce${p}rt.pem`, certificate_key: '/nonexistent/key.pem' }; } },
  { field: 'trusted proxy', path: 'trusted_proxies[0]', code: 'STR_BAD_CIDR', set: (m, p) => { m.trusted_proxies = [`10.0.0.0${p}/8`]; } },
];

const injection: BadManifest[] = FIELDS.flatMap((f) => Object.entries(PAYLOADS)
  .filter(([, payload]) => !f.accepts?.includes(payload))
  .map(([pname, payload]) => ({
    name: `injection: ${f.field} with ${pname}`,
    mutate: (m: ManifestData) => f.set(m, payload),
    // An upstream name is a key: its path is the key itself, quoted.
    path: f.path || `upstreams[${JSON.stringify(`sea${payload}rch`)}]`,
    code: f.code,
  })));

// ---------------------------------------------------------------------------------------------
// Everything else, written out

const set = (path: string, value: unknown) => (m: ManifestData) => {
  const keys = path.split('.');
  let o = m;
  for (const k of keys.slice(0, -1)) o = o[k];
  o[keys[keys.length - 1]] = value;
};
const del = (path: string) => (m: ManifestData) => {
  const keys = path.split('.');
  let o = m;
  for (const k of keys.slice(0, -1)) o = o[k];
  delete o[keys[keys.length - 1]];
};

const HEADER = 'version: 1\nlisten: 8080\nupstreams:\n  legacy: { servers: ["127.0.0.1:8081"] }\n';

function billionLaughs(): string {
  const lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i <= 9; i++) lines.push(`lol${i}: &lol${i} [${Array(10).fill(`*lol${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n' + HEADER;
}

const explicit: BadManifest[] = [
  // wrong types
  { name: 'type: version as a string', mutate: set('version', '1'), path: 'version', code: 'STR_BAD_VALUE' },
  { name: 'type: listen as a boolean', mutate: set('listen', true), path: 'listen', code: 'STR_TYPE' },
  { name: 'type: listen as a float', mutate: set('listen', 80.5), path: 'listen', code: 'STR_TYPE' },
  { name: 'type: listen as a list', mutate: set('listen', [8080]), path: 'listen', code: 'STR_TYPE' },
  { name: 'type: server_name as a number', mutate: set('server_name', 42), path: 'server_name', code: 'STR_TYPE' },
  { name: 'type: debug_headers as a string', mutate: set('debug_headers', 'true'), path: 'debug_headers', code: 'STR_TYPE' },
  { name: 'type: upstreams as a list', mutate: set('upstreams', []), path: 'upstreams', code: 'STR_TYPE' },
  { name: 'type: an upstream as a string', mutate: set('upstreams.legacy', '127.0.0.1:8081'), path: 'upstreams.legacy', code: 'STR_TYPE' },
  { name: 'type: servers as a string', mutate: set('upstreams.legacy.servers', '127.0.0.1:8081'), path: 'upstreams.legacy.servers', code: 'STR_TYPE' },
  { name: 'type: a server as a number', mutate: set('upstreams.legacy.servers', [8081]), path: 'upstreams.legacy.servers[0]', code: 'STR_TYPE' },
  { name: 'type: keepalive as a string', mutate: set('upstreams.legacy.keepalive', '64'), path: 'upstreams.legacy.keepalive', code: 'STR_TYPE' },
  { name: 'type: keepalive as a float', mutate: set('upstreams.legacy.keepalive', 1.5), path: 'upstreams.legacy.keepalive', code: 'STR_TYPE' },
  { name: 'type: gateway as a string', mutate: set('gateway', '127.0.0.1:8090'), path: 'gateway', code: 'STR_TYPE' },
  { name: 'type: timeouts as a string', mutate: set('defaults.timeouts', '5s'), path: 'defaults.timeouts', code: 'STR_TYPE' },
  // A whole number is valid (seconds, bytes, as nginx reads it); a fraction is not.
  { name: 'type: a timeout as a fraction', mutate: set('defaults.timeouts.read', 1.5), path: 'defaults.timeouts.read', code: 'STR_TYPE' },
  { name: 'type: a size as a fraction', mutate: set('defaults.body.max_size', 10.5), path: 'defaults.body.max_size', code: 'STR_TYPE' },
  { name: 'type: buffer count as a string', mutate: set('defaults.buffers.count', '4'), path: 'defaults.buffers.count', code: 'STR_TYPE' },
  { name: 'type: routes as a map', mutate: set('routes', { track: {} }), path: 'routes', code: 'STR_TYPE' },
  { name: 'type: a route as a string', mutate: (m) => { m.routes[0] = 'track'; }, path: 'routes[0]', code: 'STR_TYPE' },
  { name: 'type: a route as null', mutate: (m) => { m.routes[0] = null; }, path: 'routes[0]', code: 'STR_TYPE' },
  { name: 'type: id as a number', mutate: (m) => { r(m, 0).id = 7; }, path: 'routes[0].id', code: 'STR_TYPE' },
  { name: 'type: match as a string', mutate: (m) => { r(m, 0).match = '/api'; }, path: 'routes[0].match', code: 'STR_TYPE' },
  { name: 'type: prefix as a number', mutate: (m) => { r(m, 0).match.prefix = 5; }, path: 'routes[0].match.prefix', code: 'STR_TYPE' },
  { name: 'type: methods as a string', mutate: (m) => { r(m, 0).methods = 'GET'; }, path: 'routes[0].methods', code: 'STR_TYPE' },
  { name: 'type: to as null', mutate: (m) => { r(m, 0).to = null; }, path: 'routes[0].to', code: 'STR_TYPE' },
  { name: 'type: canary as a number', mutate: (m) => { r(m, 0).canary = 25; }, path: 'routes[0].canary', code: 'STR_TYPE' },
  { name: 'type: percent as a string', mutate: (m) => { r(m, 0).canary.percent = '25'; }, path: 'routes[0].canary.percent', code: 'STR_TYPE' },
  { name: 'type: percent as null (NaN)', mutate: (m) => { r(m, 0).canary.percent = null; }, path: 'routes[0].canary.percent', code: 'STR_TYPE' },
  { name: 'type: dynamic as a string', mutate: (m) => { r(m, 0).dynamic = 'yes'; }, path: 'routes[0].dynamic', code: 'STR_TYPE' },
  { name: 'type: fallback as a boolean', mutate: (m) => { r(m, 0).fallback = true; }, path: 'routes[0].fallback', code: 'STR_BAD_VALUE' },
  { name: 'type: non_idempotent as a string', mutate: (m) => { r(m, 0).fallback = { to: 'legacy', non_idempotent: 'yes' }; }, path: 'routes[0].fallback.non_idempotent', code: 'STR_TYPE' },
  { name: 'type: a YAML tag', text: () => HEADER + 'debug_headers: !!js/function "function () {}"\n', path: 'debug_headers', code: 'STR_TYPE' },
  { name: 'type: the whole file is a list', text: () => '- version: 1\n', path: '', code: 'STR_TYPE' },
  { name: 'type: the whole file is empty', text: () => '', path: '', code: 'STR_TYPE' },

  // required keys
  { name: 'required: version', mutate: del('version'), path: '', code: 'STR_REQUIRED' },
  { name: 'required: listen', mutate: del('listen'), path: '', code: 'STR_REQUIRED' },
  { name: 'required: upstreams', mutate: del('upstreams'), path: '', code: 'STR_REQUIRED' },
  { name: 'required: upstreams.legacy', mutate: del('upstreams.legacy'), path: 'upstreams', code: 'STR_REQUIRED' },
  { name: 'required: servers', mutate: del('upstreams.search.servers'), path: 'upstreams.search', code: 'STR_REQUIRED' },
  { name: 'required: route id', mutate: (m) => { delete r(m, 1).id; }, path: 'routes[1]', code: 'STR_REQUIRED' },
  { name: 'required: route match', mutate: (m) => { delete r(m, 1).match; }, path: 'routes[1]', code: 'STR_REQUIRED' },
  { name: 'required: route to', mutate: (m) => { delete r(m, 1).to; }, path: 'routes[1]', code: 'STR_REQUIRED' },
  { name: 'required: canary percent', mutate: (m) => { delete r(m, 0).canary.percent; }, path: 'routes[0].canary', code: 'STR_REQUIRED' },
  { name: 'required: fallback to', mutate: (m) => { r(m, 0).fallback = { non_idempotent: true }; }, path: 'routes[0].fallback', code: 'STR_REQUIRED' },

  // out-of-range numbers, sizes and durations
  { name: 'range: version 2', mutate: set('version', 2), path: 'version', code: 'STR_BAD_VALUE' },
  { name: 'range: listen port 0', mutate: set('listen', 0), path: 'listen', code: 'STR_BAD_VALUE' },
  { name: 'range: listen port 65536', mutate: set('listen', 65536), path: 'listen', code: 'STR_BAD_VALUE' },
  { name: 'range: listen host:port with port 0', mutate: set('listen', '127.0.0.1:0'), path: 'listen', code: 'STR_BAD_ADDRESS' },
  { name: 'range: server port 65536', mutate: set('upstreams.legacy.servers', ['127.0.0.1:65536']), path: 'upstreams.legacy.servers[0]', code: 'STR_BAD_ADDRESS' },
  { name: 'range: IPv4 octet 256', mutate: set('upstreams.legacy.servers', ['256.0.0.1:80']), path: 'upstreams.legacy.servers[0]', code: 'STR_BAD_ADDRESS' },
  { name: 'range: malformed IPv6', mutate: set('upstreams.legacy.servers', ['[:::::]:80']), path: 'upstreams.legacy.servers[0]', code: 'STR_BAD_ADDRESS' },
  { name: 'range: address without port', mutate: set('upstreams.legacy.servers', ['127.0.0.1']), path: 'upstreams.legacy.servers[0]', code: 'STR_BAD_ADDRESS' },
  { name: 'range: address with a scheme', mutate: set('upstreams.legacy.servers', ['http://127.0.0.1:8081']), path: 'upstreams.legacy.servers[0]', code: 'STR_BAD_ADDRESS' },
  { name: 'range: unix socket address', mutate: set('upstreams.legacy.servers', ['unix:/run/legacy.sock']), path: 'upstreams.legacy.servers[0]', code: 'STR_BAD_ADDRESS' },
  { name: 'range: no servers', mutate: set('upstreams.legacy.servers', []), path: 'upstreams.legacy.servers', code: 'STR_BAD_VALUE' },
  { name: 'range: 101 servers', mutate: set('upstreams.legacy.servers', Array.from({ length: 101 }, (_, i) => `10.0.0.${i + 1}:80`)), path: 'upstreams.legacy.servers', code: 'STR_BAD_VALUE' },
  { name: 'range: keepalive -1', mutate: set('upstreams.legacy.keepalive', -1), path: 'upstreams.legacy.keepalive', code: 'STR_BAD_VALUE' },
  { name: 'range: keepalive 10001', mutate: set('upstreams.legacy.keepalive', 10001), path: 'upstreams.legacy.keepalive', code: 'STR_BAD_VALUE' },
  { name: 'range: buffer count 1', mutate: set('defaults.buffers.count', 1), path: 'defaults.buffers.count', code: 'STR_BAD_VALUE' },
  { name: 'range: buffer count 1025', mutate: set('defaults.buffers.count', 1025), path: 'defaults.buffers.count', code: 'STR_BAD_VALUE' },
  { name: 'range: percent -0.01', mutate: (m) => { r(m, 0).canary.percent = -0.01; }, path: 'routes[0].canary.percent', code: 'STR_BAD_PERCENT' },
  { name: 'range: percent 100.01', mutate: (m) => { r(m, 0).canary.percent = 100.01; }, path: 'routes[0].canary.percent', code: 'STR_BAD_PERCENT' },
  { name: 'range: percent 1000', mutate: (m) => { r(m, 3).canary.percent = 1000; }, path: 'routes[3].canary.percent', code: 'STR_BAD_PERCENT' },
  { name: 'range: percent with three decimals', mutate: (m) => { r(m, 0).canary.percent = 12.345; }, path: 'routes[0].canary.percent', code: 'STR_BAD_PERCENT' },
  { name: 'range: percent 0.001', mutate: (m) => { r(m, 0).canary.percent = 0.001; }, path: 'routes[0].canary.percent', code: 'STR_BAD_PERCENT' },
  { name: 'range: percent 1e-7', mutate: (m) => { r(m, 0).canary.percent = 1e-7; }, path: 'routes[0].canary.percent', code: 'STR_BAD_PERCENT' },
  { name: 'size: proxy_buffer_size 512 (under 1k)', mutate: set('defaults.buffers.size', '512'), path: 'defaults.buffers.size', code: 'STR_BAD_SIZE' },
  { name: 'size: proxy_buffer_size 65m', mutate: set('defaults.buffers.size', '65m'), path: 'defaults.buffers.size', code: 'STR_BAD_SIZE' },
  { name: 'size: buffers each 1g', mutate: set('defaults.buffers.each', '1g'), path: 'defaults.buffers.each', code: 'STR_BAD_SIZE' },
  { name: 'size: busy buffers 1g', mutate: (m) => { r(m, 0).buffers = { count: 32, each: '64m', busy: '1g' }; }, path: 'routes[0].buffers.busy', code: 'STR_BAD_SIZE' },
  { name: 'size: body buffer 1g', mutate: (m) => { r(m, 0).body = { buffer: '1g' }; }, path: 'routes[0].body.buffer', code: 'STR_BAD_SIZE' },
  { name: 'size: body buffer 0', mutate: set('defaults.body.buffer', '0'), path: 'defaults.body.buffer', code: 'STR_BAD_SIZE' },
  { name: 'size: max_size 1025g', mutate: set('defaults.body.max_size', '1025g'), path: 'defaults.body.max_size', code: 'STR_BAD_SIZE' },
  { name: 'size: max_size 50MB', mutate: set('defaults.body.max_size', '50MB'), path: 'defaults.body.max_size', code: 'STR_BAD_SIZE' },
  { name: 'size: max_size 1.5m', mutate: set('defaults.body.max_size', '1.5m'), path: 'defaults.body.max_size', code: 'STR_BAD_SIZE' },
  { name: 'size: max_size -1', mutate: set('defaults.body.max_size', '-1'), path: 'defaults.body.max_size', code: 'STR_BAD_SIZE' },
  { name: 'size: max_size in hex', mutate: set('defaults.body.max_size', '0x10'), path: 'defaults.body.max_size', code: 'STR_BAD_SIZE' },
  { name: 'size: 13 digits', mutate: set('defaults.body.max_size', '9999999999999'), path: 'defaults.body.max_size', code: 'STR_BAD_SIZE' },
  { name: 'size: empty', mutate: set('defaults.body.max_size', ''), path: 'defaults.body.max_size', code: 'STR_BAD_SIZE' },
  { name: 'duration: 0s', mutate: set('defaults.timeouts.connect', '0s'), path: 'defaults.timeouts.connect', code: 'STR_BAD_DURATION' },
  { name: 'duration: bare 0', mutate: set('defaults.timeouts.connect', '0'), path: 'defaults.timeouts.connect', code: 'STR_BAD_DURATION' },
  { name: 'duration: 2d (over a day)', mutate: set('defaults.timeouts.read', '2d'), path: 'defaults.timeouts.read', code: 'STR_BAD_DURATION' },
  { name: 'duration: 86401s', mutate: (m) => { r(m, 2).timeouts.read = '86401s'; }, path: 'routes[2].timeouts.read', code: 'STR_BAD_DURATION' },
  { name: 'duration: repeated unit 5s5s', mutate: (m) => { r(m, 2).timeouts.read = '5s5s'; }, path: 'routes[2].timeouts.read', code: 'STR_BAD_DURATION' },
  { name: 'duration: units out of order 500ms1s', mutate: (m) => { r(m, 2).timeouts.read = '500ms1s'; }, path: 'routes[2].timeouts.read', code: 'STR_BAD_DURATION' },
  { name: 'duration: units out of order 30s1m', mutate: (m) => { r(m, 2).timeouts.read = '30s1m'; }, path: 'routes[2].timeouts.read', code: 'STR_BAD_DURATION' },
  { name: 'duration: decimal 1.5s', mutate: set('defaults.timeouts.send', '1.5s'), path: 'defaults.timeouts.send', code: 'STR_BAD_DURATION' },
  { name: 'duration: space before unit', mutate: set('defaults.timeouts.send', '5 s'), path: 'defaults.timeouts.send', code: 'STR_BAD_DURATION' },
  { name: 'duration: negative', mutate: set('defaults.timeouts.send', '-5s'), path: 'defaults.timeouts.send', code: 'STR_BAD_DURATION' },
  { name: 'duration: spelled out unit', mutate: set('defaults.timeouts.send', '5sec'), path: 'defaults.timeouts.send', code: 'STR_BAD_DURATION' },
  { name: 'duration: years', mutate: set('defaults.timeouts.send', '1y'), path: 'defaults.timeouts.send', code: 'STR_BAD_DURATION' },
  { name: 'duration: empty', mutate: set('defaults.timeouts.send', ''), path: 'defaults.timeouts.send', code: 'STR_BAD_DURATION' },
  { name: 'buffers: busy below size', mutate: set('defaults.buffers', { size: '128k', count: 4, each: '256k', busy: '64k' }), path: 'defaults.buffers.busy', code: 'STR_BAD_BUFFERS' },
  { name: 'buffers: busy over (count-1) x each', mutate: (m) => { r(m, 0).buffers = { count: 2, each: '64k' }; }, path: 'routes[0].buffers.busy', code: 'STR_BAD_BUFFERS' },

  // bad values of the allowed kinds
  { name: 'value: empty methods', mutate: (m) => { r(m, 0).methods = []; }, path: 'routes[0].methods', code: 'STR_BAD_VALUE' },
  { name: 'value: a method twice', mutate: (m) => { r(m, 0).methods = ['GET', 'GET']; }, path: 'routes[0].methods', code: 'STR_BAD_VALUE' },
  { name: 'value: lower-case method', mutate: (m) => { r(m, 0).methods = ['get']; }, path: 'routes[0].methods[0]', code: 'STR_BAD_VALUE' },
  { name: 'value: TRACE', mutate: (m) => { r(m, 0).methods = ['GET', 'TRACE']; }, path: 'routes[0].methods[1]', code: 'STR_BAD_VALUE' },
  { name: 'value: a method with a space', mutate: (m) => { r(m, 0).methods = ['GET HEAD']; }, path: 'routes[0].methods[0]', code: 'STR_BAD_VALUE' },
  { name: 'value: fallback to a function', mutate: (m) => { r(m, 0).fallback = 'function:track-package'; }, path: 'routes[0].fallback', code: 'STR_BAD_VALUE' },
  { name: 'value: server_name wildcard without a dot', mutate: set('server_name', '*example.no'), path: 'server_name', code: 'STR_BAD_VALUE' },
  { name: 'value: empty server_name', mutate: set('server_name', ''), path: 'server_name', code: 'STR_UNSAFE_STRING' },
  { name: 'value: server_name with two spaces', mutate: set('server_name', 'a.no  b.no'), path: 'server_name', code: 'STR_UNSAFE_STRING' },
  { name: 'value: server_name regex', mutate: set('server_name', '~^(?<x>.+)$'), path: 'server_name', code: 'STR_UNSAFE_STRING' },
  { name: 'id: upper case', mutate: (m) => { r(m, 0).id = 'Track'; }, path: 'routes[0].id', code: 'STR_BAD_ID' },
  { name: 'id: underscore', mutate: (m) => { r(m, 0).id = 'track_package'; }, path: 'routes[0].id', code: 'STR_BAD_ID' },
  { name: 'id: leading dash', mutate: (m) => { r(m, 0).id = '-track'; }, path: 'routes[0].id', code: 'STR_BAD_ID' },
  { name: 'id: empty', mutate: (m) => { r(m, 0).id = ''; }, path: 'routes[0].id', code: 'STR_BAD_ID' },
  { name: 'id: 64 characters', mutate: (m) => { r(m, 0).id = 'a'.repeat(64); }, path: 'routes[0].id', code: 'STR_BAD_ID' },
  { name: 'id: reserved "default"', mutate: (m) => { r(m, 2).id = 'default'; }, path: 'routes[2].id', code: 'STR_RESERVED_ID' },
  { name: 'name: upper-case upstream', mutate: (m) => { m.upstreams.Search = m.upstreams.search; }, path: 'upstreams.Search', code: 'STR_BAD_NAME' },
  { name: 'name: upstream starting with a digit', mutate: (m) => { m.upstreams['9search'] = m.upstreams.search; }, path: 'upstreams["9search"]', code: 'STR_BAD_NAME' },
  { name: 'name: upstream __proto__', text: () => HEADER + '  __proto__: { servers: ["127.0.0.1:1"] }\n', path: 'upstreams.__proto__', code: 'STR_BAD_NAME' },
  { name: 'name: upstream "gateway" with a dynamic route', mutate: (m) => { m.upstreams.gateway = { servers: ['127.0.0.1:9000'] }; }, path: 'upstreams.gateway', code: 'STR_BAD_NAME' },
  { name: 'name: 64-character upstream', mutate: (m) => { m.upstreams['u'.repeat(64)] = m.upstreams.search; }, path: `upstreams.${'u'.repeat(64)}`, code: 'STR_BAD_NAME' },

  // match, paths and regexes
  { name: 'match: empty', mutate: (m) => { r(m, 0).match = {}; }, path: 'routes[0].match', code: 'STR_BAD_MATCH' },
  { name: 'match: prefix and exact', mutate: (m) => { r(m, 0).match = { prefix: '/a', exact: '/a' }; }, path: 'routes[0].match', code: 'STR_BAD_MATCH' },
  { name: 'match: all three', mutate: (m) => { r(m, 0).match = { prefix: '/a', exact: '/b', regex: '^/c' }; }, path: 'routes[0].match', code: 'STR_BAD_MATCH' },
  { name: 'path: empty', mutate: (m) => { r(m, 0).match.prefix = ''; }, path: 'routes[0].match.prefix', code: 'STR_BAD_PATH' },
  { name: 'path: relative', mutate: (m) => { r(m, 0).match.prefix = 'api/v1/track'; }, path: 'routes[0].match.prefix', code: 'STR_BAD_PATH' },
  { name: 'path: named-location look-alike', mutate: (m) => { r(m, 1).match.exact = '@legacy'; }, path: 'routes[1].match.exact', code: 'STR_BAD_PATH' },
  { name: 'path: percent-escape', mutate: (m) => { r(m, 0).match.prefix = '/caf%C3%A9'; }, path: 'routes[0].match.prefix', code: 'STR_BAD_PATH' },
  { name: 'path: query string', mutate: (m) => { r(m, 1).match.exact = '/api/v1/orders?x=1'; }, path: 'routes[1].match.exact', code: 'STR_BAD_PATH' },
  { name: 'path: double slash', mutate: (m) => { r(m, 0).match.prefix = '/api//v1'; }, path: 'routes[0].match.prefix', code: 'STR_BAD_PATH' },
  { name: 'path: dot segment', mutate: (m) => { r(m, 1).match.exact = '/api/./orders'; }, path: 'routes[1].match.exact', code: 'STR_BAD_PATH' },
  { name: 'path: dot-dot segment', mutate: (m) => { r(m, 0).match.prefix = '/api/v1/..'; }, path: 'routes[0].match.prefix', code: 'STR_BAD_PATH' },
  { name: 'path: 1001 characters', mutate: (m) => { r(m, 0).match.prefix = '/' + 'a'.repeat(1000); }, path: 'routes[0].match.prefix', code: 'STR_BAD_PATH' },
  { name: 'regex: empty', mutate: (m) => { r(m, 2).match.regex = ''; }, path: 'routes[2].match.regex', code: 'STR_BAD_VALUE' },
  { name: 'regex: 1001 characters', mutate: (m) => { r(m, 2).match.regex = '^/' + 'a'.repeat(999); }, path: 'routes[2].match.regex', code: 'STR_UNSAFE_STRING' },
  { name: 'regex: unterminated group', mutate: (m) => { r(m, 2).match.regex = '^/docs/(.+\\.pdf$'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: unterminated class', mutate: (m) => { r(m, 2).match.regex = '^/docs/[a-z'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: nothing to repeat', mutate: (m) => { r(m, 2).match.regex = '*.pdf'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: quantifier out of order', mutate: (m) => { r(m, 2).match.regex = '^/a{3,2}'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: \\u escape PCRE refuses', mutate: (m) => { r(m, 2).match.regex = '^/caf\\u00e9'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: \\k escape PCRE refuses', mutate: (m) => { r(m, 2).match.regex = '^/a\\k'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: \\p read differently', mutate: (m) => { r(m, 2).match.regex = '^/\\p{L}+$'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: named group shadowing $uri', mutate: (m) => { r(m, 2).match.regex = '^/(?<uri>.+)$'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: named group setting $args', mutate: (m) => { r(m, 2).match.regex = '^/(?<args>.+)$'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: variable-length lookbehind', mutate: (m) => { r(m, 2).match.regex = '(?<=/docs/.+)\\.pdf$'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: [^]', mutate: (m) => { r(m, 2).match.regex = '^/docs/[^]+$'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: backreference to a missing group', mutate: (m) => { r(m, 2).match.regex = '^/b/a\\1'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: \\8', mutate: (m) => { r(m, 2).match.regex = '^/b/\\8'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: backreference to a later group', mutate: (m) => { r(m, 2).match.regex = '^/b/(a)\\2'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: backreference to a group', mutate: (m) => { r(m, 2).match.regex = '^/b/(a)?b\\1$'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: inline flag', mutate: (m) => { r(m, 2).match.regex = '(?i)^/docs/'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: range starting at a class (nginx -t refuses)', mutate: (m) => { r(m, 2).match.regex = '^/docs/[\\d-z]'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: range ending at a class (nginx -t refuses)', mutate: (m) => { r(m, 2).match.regex = '^/docs/[a-\\d]'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: unknown POSIX class', mutate: (m) => { r(m, 2).match.regex = '^/docs/[[:letter:]]+'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: POSIX class outside brackets', mutate: (m) => { r(m, 2).match.regex = '^/docs/[:digit:]'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: \\x{} over \\xff', mutate: (m) => { r(m, 2).match.regex = '^/docs/\\x{e9e9}'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: quantifier after $', mutate: (m) => { r(m, 2).match.regex = '^/docs/$*'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: repeat count over 65535', mutate: (m) => { r(m, 2).match.regex = '^/docs/a{70000}'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: { that is not a quantifier', mutate: (m) => { r(m, 2).match.regex = '^/docs/a{,3}'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: scoped inline flag', mutate: (m) => { r(m, 2).match.regex = '^/docs/(?s:.+)'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: \\K', mutate: (m) => { r(m, 2).match.regex = '^/docs/\\K.+'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },
  { name: 'regex: conditional group', mutate: (m) => { r(m, 2).match.regex = '^/docs/(?(1)a|b)'; }, path: 'routes[2].match.regex', code: 'STR_BAD_REGEX' },

  // targets and upstreams
  { name: 'target: function without a name', mutate: (m) => { r(m, 0).to = 'function:'; }, path: 'routes[0].to', code: 'STR_BAD_TARGET' },
  { name: 'target: unknown kind', mutate: (m) => { r(m, 0).to = 'lambda:track'; }, path: 'routes[0].to', code: 'STR_BAD_TARGET' },
  { name: 'target: legacy with a name', mutate: (m) => { r(m, 0).to = 'legacy:old'; }, path: 'routes[0].to', code: 'STR_BAD_TARGET' },
  { name: 'target: capitalised kind', mutate: (m) => { r(m, 0).to = 'Function:track'; }, path: 'routes[0].to', code: 'STR_BAD_TARGET' },
  { name: 'target: function name ending in a dash', mutate: (m) => { r(m, 0).to = 'function:track-'; }, path: 'routes[0].to', code: 'STR_BAD_TARGET' },
  { name: 'target: a URL', mutate: (m) => { r(m, 0).to = 'http://127.0.0.1:8082/function/track'; }, path: 'routes[0].to', code: 'STR_BAD_TARGET' },
  { name: 'upstream: function: without upstreams.functions', mutate: del('upstreams.functions'), path: 'routes[0].to', code: 'STR_UNKNOWN_UPSTREAM' },
  { name: 'upstream: async: without upstreams.functions', mutate: (m) => { delete m.upstreams.functions; m.routes = [m.routes[1]]; }, path: 'routes[0].to', code: 'STR_UNKNOWN_UPSTREAM' },
  { name: 'upstream: undefined upstream', mutate: (m) => { r(m, 3).to = 'upstream:elastic'; }, path: 'routes[3].to', code: 'STR_UNKNOWN_UPSTREAM' },
  { name: 'upstream: Object.prototype name', mutate: (m) => { r(m, 3).to = 'upstream:constructor'; }, path: 'routes[3].to', code: 'STR_UNKNOWN_UPSTREAM' },

  // sticky keys
  { name: 'sticky: cookie without a name', mutate: (m) => { r(m, 0).canary.sticky = 'cookie:'; }, path: 'routes[0].canary.sticky', code: 'STR_BAD_STICKY' },
  { name: 'sticky: cookie name with a dash', mutate: (m) => { r(m, 0).canary.sticky = 'cookie:session-id'; }, path: 'routes[0].canary.sticky', code: 'STR_BAD_STICKY' },
  { name: 'sticky: cookie name of 65 characters', mutate: (m) => { r(m, 0).canary.sticky = 'cookie:' + 'c'.repeat(65); }, path: 'routes[0].canary.sticky', code: 'STR_BAD_STICKY' },
  { name: 'sticky: header name with an underscore', mutate: (m) => { r(m, 3).canary.sticky = 'header:X_User'; }, path: 'routes[3].canary.sticky', code: 'STR_BAD_STICKY' },
  { name: 'sticky: capitalised kind', mutate: (m) => { r(m, 0).canary.sticky = 'Cookie:session_id'; }, path: 'routes[0].canary.sticky', code: 'STR_BAD_STICKY' },
  { name: 'sticky: unknown kind', mutate: (m) => { r(m, 0).canary.sticky = 'query:user'; }, path: 'routes[0].canary.sticky', code: 'STR_BAD_STICKY' },
  { name: 'sticky: ip with a name', mutate: (m) => { r(m, 0).canary.sticky = 'ip:v4'; }, path: 'routes[0].canary.sticky', code: 'STR_BAD_STICKY' },
  { name: 'sticky: bare word', mutate: (m) => { r(m, 0).canary.sticky = 'session_id'; }, path: 'routes[0].canary.sticky', code: 'STR_BAD_STICKY' },
  { name: 'salt: 65 characters', mutate: (m) => { r(m, 0).canary.salt = 's'.repeat(65); }, path: 'routes[0].canary.salt', code: 'STR_UNSAFE_STRING' },

  // unknown keys
  { name: 'unknown key: top level', mutate: set('routez', []), path: 'routez', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: route', mutate: (m) => { r(m, 0).timeout = '5s'; }, path: 'routes[0].timeout', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: match', mutate: (m) => { r(m, 0).match = { suffix: '.pdf' }; }, path: 'routes[0].match.suffix', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: upstream', mutate: set('upstreams.legacy.weight', 5), path: 'upstreams.legacy.weight', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: canary', mutate: (m) => { r(m, 0).canary.stick = 'ip'; }, path: 'routes[0].canary.stick', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: defaults', mutate: set('defaults.retries', 3), path: 'defaults.retries', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: gateway', mutate: set('gateway.port', 8090), path: 'gateway.port', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: timeouts', mutate: set('defaults.timeouts.idle', '5s'), path: 'defaults.timeouts.idle', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: buffers', mutate: set('defaults.buffers.number', 4), path: 'defaults.buffers.number', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: body', mutate: set('defaults.body.limit', '1m'), path: 'defaults.body.limit', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: fallback', mutate: (m) => { r(m, 0).fallback = { to: 'legacy', retry: true }; }, path: 'routes[0].fallback.retry', code: 'STR_UNKNOWN_KEY' },
  { name: 'unknown key: an nginx directive', mutate: set('include', '/etc/passwd'), path: 'include', code: 'STR_UNKNOWN_KEY' },

  // duplicates
  { name: 'duplicate: id', mutate: (m) => { r(m, 3).id = 'track'; }, path: 'routes[3].id', code: 'STR_DUPLICATE_ID' },
  { name: 'duplicate: exact match', mutate: (m) => { m.routes.push({ id: 'orders2', match: { exact: '/api/v1/orders' }, to: 'legacy' }); }, path: 'routes[5].match.exact', code: 'STR_DUPLICATE_MATCH' },
  { name: 'duplicate: exact against a prefix\'s own path', mutate: (m) => { m.routes.push({ id: 't2', match: { exact: '/api/v1/track' }, to: 'legacy' }); }, path: 'routes[5].match.exact', code: 'STR_DUPLICATE_MATCH' },
  { name: 'duplicate: prefix with and without a trailing slash', mutate: (m) => { m.routes.push({ id: 't2', match: { prefix: '/api/v1/track/' }, to: 'legacy' }); }, path: 'routes[5].match.prefix', code: 'STR_DUPLICATE_MATCH' },
  { name: 'duplicate: the same prefix', mutate: (m) => { m.routes.push({ id: 's2', match: { prefix: '/search/' }, to: 'legacy' }); }, path: 'routes[5].match.prefix', code: 'STR_DUPLICATE_MATCH' },
  { name: 'duplicate: the same regex', mutate: (m) => { m.routes.push({ id: 'p2', match: { regex: '^/docs/.+\\.pdf$' }, to: 'legacy' }); }, path: 'routes[5].match.regex', code: 'STR_DUPLICATE_MATCH' },

  // YAML: syntax, duplicate keys and resource bombs
  { name: 'yaml: duplicate top-level key', text: () => HEADER + 'listen: 9090\n', path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: duplicate key in a route', text: () => HEADER + 'routes:\n  - id: a\n    id: b\n    match: { prefix: /a }\n    to: legacy\n', path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: duplicate key in a flow map', text: () => HEADER + 'routes:\n  - { id: a, match: { prefix: /a, prefix: /b }, to: legacy }\n', path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: tab indentation', text: () => 'version: 1\nlisten: 8080\nupstreams:\n\tlegacy: { servers: ["127.0.0.1:8081"] }\n', path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: unclosed quote', text: () => HEADER + 'server_name: "api.example.no\n', path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: unclosed flow map', text: () => HEADER + 'routes:\n  - { id: a, match: { prefix: /a }, to: legacy\n', path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: bad indentation', text: () => HEADER + 'routes:\n  - id: a\n   match: { prefix: /a }\n', path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: two documents', text: () => HEADER + '---\n' + HEADER, path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: undefined alias', text: () => HEADER + 'routes: *nothing\n', path: '', code: 'STR_YAML_SYNTAX' },
  { name: 'yaml: billion laughs (alias expansion)', text: billionLaughs, path: '', code: 'STR_YAML_LIMIT' },
  { name: 'yaml: more than 100 alias uses', text: () => 'x: &x 1\n' + HEADER + 'routes: [' + Array(150).fill('*x').join(', ') + ']\n', path: '', code: 'STR_YAML_LIMIT' },
  { name: 'yaml: flow nesting 65 deep', text: () => HEADER + 'routes: ' + '['.repeat(65) + ']'.repeat(65) + '\n', path: '', code: 'STR_YAML_LIMIT' },
  { name: 'yaml: flow nesting 100000 deep', text: () => HEADER + 'routes: ' + '{a: '.repeat(100_000) + '1' + '}'.repeat(100_000) + '\n', path: '', code: 'STR_YAML_LIMIT' },
  { name: 'yaml: block nesting 20000 deep', text: () => HEADER + 'routes:\n' + '- '.repeat(20_000) + 'x\n', path: '', code: 'STR_YAML_LIMIT' },
  { name: 'yaml: a file over 16 MiB', text: () => HEADER + 'routes:\n' + '  # padding\n'.repeat(1_500_000), path: '', code: 'STR_YAML_LIMIT' },
];

export const BAD_MANIFESTS: readonly BadManifest[] = [...injection, ...explicit];

/** The base manifest itself must be valid, or every mutation above proves nothing. */
export const BASE_TEXT = (): string => manifestText(baseManifest());
