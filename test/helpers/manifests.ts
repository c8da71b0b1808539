// Manifests shared by the nginx, gateway and equivalence tests, written for a stack's ports.
import type { StackPorts } from './stack';

/** The top of a manifest whose upstreams are never contacted (state and compile tests); routes follow. */
export const OFFLINE_MANIFEST_HEAD = `
version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:1"] }
  functions: { servers: ["127.0.0.1:2"] }
routes:
`;

/** The top of a small manifest for a stack: nginx's listen, debug headers, legacy and functions. */
export const STACK_MANIFEST_HEAD = (p: StackPorts) => `version: 1
listen: "127.0.0.1:${p.nginx}"
debug_headers: true
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"] }
  functions: { servers: ["127.0.0.1:${p.functions}"] }
`;

/** nginx on `p.nginx` in front of the gateway, legacy and functions; the route lines follow `routes:`. */
export const gatewayBehindNginx = (p: Pick<StackPorts, 'nginx' | 'legacy' | 'functions' | 'gateway' | 'admin'>, ...routes: string[]) => `version: 1
listen: "127.0.0.1:${p.nginx}"
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"] }
  functions: { servers: ["127.0.0.1:${p.functions}"] }
gateway:
  listen: "127.0.0.1:${p.gateway}"
  admin: "127.0.0.1:${p.admin}"
routes:
${routes.join('\n')}
`;

/** Every kind of match, target, method rule, canary, fallback and override the semantics name. */
export const ROUTING_MANIFEST = (p: StackPorts) => `
version: 1
listen: "127.0.0.1:${p.nginx}"
debug_headers: true
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"], keepalive: 16 }
  functions: { servers: ["127.0.0.1:${p.functions}"], keepalive: 16 }
  search: { servers: ["127.0.0.1:${p.search}"] }
  dead: { servers: ["127.0.0.1:${p.dead}"] }
gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}" }
routes:
  - id: track
    match: { prefix: /api/v1/track }
    methods: [GET, HEAD]
    to: function:track-package
    fallback: legacy
  - id: orders
    match: { exact: /api/v1/orders }
    methods: [POST]
    to: async:order-intake
  - id: report
    match: { prefix: /generate-report }
    to: function:generate-report
    fallback: legacy
    timeouts: { read: 1s }
  - id: images
    match: { prefix: /images/ }
    to: function:image-resizer
    canary: { percent: 30, sticky: "cookie:session_id", salt: "v1" }
  - id: pdf
    match: { regex: "^/docs/.+\\\\.pdf$" }
    to: function:generate-report
  - id: docs
    match: { prefix: /docs }
    to: upstream:search
  - id: search
    match: { prefix: /search }
    to: upstream:search
  - id: upload
    match: { prefix: /upload }
    to: function:track-package
    body: { max_size: 1k }
  - id: slow
    match: { prefix: /slow }
    to: function:track-package
    timeouts: { read: 1s }
  - id: gone
    match: { prefix: /gone }
    to: upstream:dead
    fallback: legacy
  - id: gone-nofb
    match: { prefix: /gone-nofb }
    to: upstream:dead
  - id: off
    match: { prefix: /off }
    to: function:track-package
    canary: { percent: 0 }
`;

/**
 * ROUTING_MANIFEST with HTTPS in both layers: nginx's tls listener on `tlsPort` and gateway.tls,
 * with the same certificate.
 */
export const TLS_ROUTING_MANIFEST = (files: { certificate: string; certificate_key: string }, tlsPort: number) => (p: StackPorts) => {
  const pair = `certificate: ${files.certificate}, certificate_key: ${files.certificate_key}`;
  const plain = ROUTING_MANIFEST(p);
  const withGatewayTls = plain.replace(/^gateway: \{ (.*) \}$/m, `gateway: { $1, tls: { ${pair} } }`);
  if (withGatewayTls === plain) throw new Error('ROUTING_MANIFEST has no one-line gateway block to add tls to');
  return `${withGatewayTls}tls: { listen: "127.0.0.1:${tlsPort}", ${pair} }\n`;
};
