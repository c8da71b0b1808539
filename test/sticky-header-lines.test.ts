// A canary sticky on a header the client sent on two lines buckets by the value nginx 1.22's
// $http_NAME holds: Cookie and X-Forwarded-For lines joined, any other header's first line.
import assert from 'node:assert/strict';
import type { GatewayHandle } from '../gateway/runtime/serve-gateway';
import { stackManifestHead } from './helpers/manifests';
import { requireNginx } from './helpers/nginx';
import { exchange } from './helpers/raw-http';
import { startStackWithGateway, stopStackWithGateway, type Stack, type StackPorts } from './helpers/stack';

const manifest = (p: StackPorts) => `${stackManifestHead(p)}debug_headers: true
routes:
  - { id: by-cookie, match: { prefix: /by-cookie/ }, to: "function:track-package", canary: { percent: 50, sticky: "header:Cookie" } }
  - { id: by-xff, match: { prefix: /by-xff/ }, to: "function:image-resizer", canary: { percent: 50, sticky: "header:X-Forwarded-For" } }
  - { id: by-user, match: { prefix: /by-user/ }, to: "function:generate-report", canary: { percent: 50, sticky: "header:X-User" } }
`;

describe('sticky header keys sent on two lines, in nginx and the gateway alike', function () {
  this.timeout(60_000);
  let stack: Stack;
  let gateway: GatewayHandle;

  before(async function () {
    requireNginx(this);
    ({ stack, gateway } = await startStackWithGateway(manifest, 'sticky-lines-test-token'));
  });
  after(() => stopStackWithGateway({ stack, gateway }));

  for (const [path, header] of [['/by-cookie/x', 'Cookie'], ['/by-xff/x', 'X-Forwarded-For'], ['/by-user/x', 'X-User']]) {
    it(`puts each pair of ${header} lines on the side nginx puts it`, async () => {
      const differ: string[] = [];
      const sides = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const raw = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${header}: u${i}\r\n${header}: v${i * 7}\r\nConnection: close\r\n\r\n`);
        const n = await exchange(stack.ports.nginx, { raw });
        const g = await exchange(gateway.listen.port, { raw });
        const side = n.headers['x-strangler-target'];
        sides.add(side);
        if (n.status !== 200 || g.status !== 200 || g.headers['x-strangler-target'] !== side) differ.push(`u${i}/v${i * 7}: nginx ${n.status} ${side}, gateway ${g.status} ${g.headers['x-strangler-target']}`);
      }
      assert.deepEqual(differ, []);
      assert.equal(sides.size, 2, 'both sides seen: the pairs spread over the split');
    });
  }
});
