// Regex routes where PCRE (nginx) and JavaScript read the same pattern differently: each request
// goes through a real nginx on the compiled manifest and through the gateway, and both must pick
// the route PCRE picks. Percent-encoded bytes put \r, \n, \x85, \xa0 and other bytes above 0x7f
// into the decoded path the regexes are matched against.
import assert from 'node:assert/strict';
import type { GatewayHandle } from '../gateway/runtime/serve-gateway';
import { requireNginx } from './helpers/nginx';
import { describeBoth, pick, throughBoth } from './helpers/parity';
import { rawRequest } from './helpers/raw-http';
import { startStackWithGateway, stopStackWithGateway, type Stack, type StackPorts } from './helpers/stack';
import { STACK_MANIFEST_HEAD } from './helpers/manifests';

/** Route id → the pattern as YAML holds it (single-quoted: backslashes as they are). */
const ROUTES: Record<string, string> = {
  pdf: '^/docs/.+\\.pdf$', // . takes \r; $ matches before a final \n
  space: '^/ws/a\\sb', // \s is [\t\n\x0b\f\r ] in PCRE, JavaScript adds \xa0
  nonspace: '^/ns/a\\Sb',
  vertical: '^/vt/a\\vb', // \v is vertical space in PCRE, \x0b alone in JavaScript
  horizontal: '^/hz/a\\hb',
  posix: '^/px/[[:digit:]]+$',
  word: '^/wd/a\\w', // ASCII in both: a byte above 0x7f is no word character
  atomic: '^/at/(?>a|ab)c$',
  possessive: '^/po/a++a',
  newline: '^/rr/a\\R$',
  quoted: '^/qq/\\Qa.b\\E$',
  endz: '^/zz/a\\Z',
};

const MANIFEST = (p: StackPorts) => `${STACK_MANIFEST_HEAD(p)}gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}" }
routes:
${Object.entries(ROUTES).map(([id, re]) => `  - { id: ${id}, match: { regex: '${re}' }, to: "function:generate-report" }`).join('\n')}
`;

/** Request target → the route PCRE picks ("default": none of them). */
const CASES: [string, string][] = [
  ['/docs/a.pdf', 'pdf'], ['/docs/a%0Db.pdf', 'pdf'], ['/docs/a.pdf%0A', 'pdf'], ['/docs/a%0Ab.pdf', 'default'], ['/docs/a.pdf%0A%0A', 'default'],
  ['/ws/a%20b', 'space'], ['/ws/a%0Bb', 'space'], ['/ws/a%A0b', 'default'], ['/ws/a%85b', 'default'],
  ['/ns/a%A0b', 'nonspace'], ['/ns/a%0Bb', 'default'],
  ['/vt/a%0Ab', 'vertical'], ['/vt/a%0Bb', 'vertical'], ['/vt/a%0Cb', 'vertical'], ['/vt/a%0Db', 'vertical'], ['/vt/a%85b', 'vertical'], ['/vt/a%A0b', 'default'],
  ['/hz/a%A0b', 'horizontal'], ['/hz/a%09b', 'horizontal'], ['/hz/a%0Bb', 'default'],
  ['/px/123', 'posix'], ['/px/12:', 'default'], ['/px/d', 'default'],
  ['/wd/a_', 'word'], ['/wd/a%C3%A9', 'default'], ['/wd/a%AA', 'default'],
  ['/at/abc', 'default'], ['/at/ac', 'atomic'],
  ['/po/aaa', 'default'],
  ['/rr/a%0D%0A', 'newline'], ['/rr/a%85', 'newline'],
  ['/qq/a.b', 'quoted'], ['/qq/axb', 'default'],
  ['/zz/a%0A', 'endz'], ['/zz/a%0Ab', 'default'],
];

describe('equivalence: regex routes match as PCRE matches them, in nginx and the gateway', function () {
  let stack: Stack;
  let gateway: GatewayHandle;

  before(async function () {
    requireNginx(this);
    ({ stack, gateway } = await startStackWithGateway(MANIFEST, 'regex-equivalence-token'));
  });
  after(() => stopStackWithGateway({ stack, gateway }));

  it(`routes ${CASES.length} paths with bytes PCRE and JavaScript class differently as nginx does`, async () => {
    const problems: string[] = [];
    for (const [target, route] of CASES) {
      const { nginx, gateway: g } = await throughBoth({ nginx: stack.ports.nginx, gateway: gateway.listen.port }, (port) => rawRequest(port, target));
      const [n, gw] = [nginx, g].map((o) => pick(o, ['route', 'target', 'servedBy', 'fn', 'url']));
      if (n.route !== route) problems.push(describeBoth(`${target}: nginx no longer picks ${route}`, n, gw));
      else {
        try { assert.deepEqual(gw, n); } catch { problems.push(describeBoth(`${target}: the gateway differs`, n, gw)); }
      }
    }
    assert.deepEqual(problems, []);
  });
});
