// The catalogue of manifest diagnostics. Codes are stable: scripts and docs depend on them.
// docs/errors.md documents every code; test/error-catalogue.test.ts keeps the two in sync.

export const MANIFEST_CODES = {
  STR_FILE: 'the manifest file cannot be read',
  STR_YAML_SYNTAX: 'the file is not well-formed YAML',
  STR_YAML_LIMIT: 'the file exceeds a parser limit (size, nesting depth, alias expansion)',
  STR_TYPE: 'a value has the wrong type',
  STR_REQUIRED: 'a required key is missing',
  STR_UNKNOWN_KEY: 'a key the manifest format does not define',
  STR_BAD_VALUE: 'a value outside the allowed set or range',
  STR_BAD_ID: 'a route id that is not [a-z0-9-]+ (at most 63 characters)',
  STR_RESERVED_ID: 'the route id "default" is reserved for unmatched traffic',
  STR_DUPLICATE_ID: 'two routes share an id',
  STR_BAD_NAME: 'an upstream name that is not [a-z][a-z0-9_-]*',
  STR_BAD_MATCH: 'match must have exactly one of prefix, exact, regex',
  STR_BAD_PATH: 'a match path that is not a normalised, decoded path of allowed characters',
  STR_BAD_REGEX: 'a regex that does not compile',
  STR_DUPLICATE_MATCH: 'two routes claim the same nginx location',
  STR_BAD_TARGET: 'to is not legacy, function:NAME, async:NAME or upstream:NAME',
  STR_UNKNOWN_UPSTREAM: 'a route targets an upstream that upstreams does not define',
  STR_BAD_PERCENT: 'a canary percent outside 0..100 or with more than two decimals',
  STR_BAD_STICKY: 'sticky is not cookie:NAME, header:NAME or ip',
  STR_BAD_DURATION: 'a duration not in nginx syntax (500ms, 5s, 1m30s), zero, or over 1d',
  STR_BAD_SIZE: 'a size not in nginx syntax (512, 128k, 50m, 1g), or out of range',
  STR_BAD_BUFFERS: 'buffer sizes that nginx would refuse (proxy_busy_buffers_size rules)',
  STR_BAD_ADDRESS: 'an address that is not host:port (or a port, for listen)',
  STR_BAD_STATE: 'gateway.state is not a redis:// or rediss:// URL or a file path, or holds a password',
  STR_UNSAFE_STRING: 'a string with characters that could break out of an nginx directive',
  STR_BAD_SHADOW: 'a shadow that cannot work: on a route to legacy, or a percent with more than two decimals',
  STR_BAD_ROLLOUT: 'a rollout that cannot work: steps that do not increase to 100, on a route to legacy, or a shadow gate without a shadow',
  STR_BAD_SHADOW_IGNORE: 'a shadow ignore rule that is not $.a.b[*].c or header:NAME',
  STR_SHADOW_UNSAFE_METHOD: 'a shadow copies a method other than GET, HEAD, OPTIONS without side_effect_free: true',
  STR_BAD_FILE_PATH: 'a file path that is not absolute or has characters outside [A-Za-z0-9._@+/-]',
  STR_BAD_CIDR: 'a trusted_proxies or gateway.trusted_proxies entry that is not an IPv4/IPv6 address or CIDR block',
  STR_TLS_FILE: 'a certificate, key or ACME webroot that does not exist, is not readable, or is the wrong kind of file',
  STR_TLS_CERT: 'a certificate or key file that does not hold a PEM certificate or private key',
  STR_TLS_KEY_MISMATCH: 'a private key that does not belong to the certificate',
  STR_W_UNREACHABLE: 'warning: a route that can never be reached',
  STR_W_IGNORED: 'warning: a setting that has no effect on this route',
  STR_W_CERTIFICATE: 'warning: a certificate that has expired or does not cover a server_name',
} as const;

export type ManifestCode = keyof typeof MANIFEST_CODES;

export interface ManifestDiagnostic {
  readonly code: ManifestCode;
  readonly severity: 'error' | 'warning';
  /** Path into the manifest, as `routes[3].match.prefix`; "" for the whole file. */
  readonly path: string;
  readonly message: string;
  readonly file: string;
  /** 1-based; absent when the parser cannot tell. */
  readonly line?: number;
  readonly column?: number;
}

export type PathSegment = string | number;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** `routes.yaml:12:5: routes[3].match.prefix: STR_BAD_PATH: ...` — the compiler-style line editors understand. */
export function formatDiagnostic(d: ManifestDiagnostic): string {
  const where = d.line ? `${d.file}:${d.line}:${d.column ?? 1}` : d.file;
  const kind = d.severity === 'warning' ? 'warning' : 'error';
  return `${where}: ${kind} ${d.code}: ${d.path ? d.path + ': ' : ''}${d.message}`;
}

/** Thrown by loaders when a manifest has errors; carries all of them. */
/** STR_FILE: the manifest file cannot be read (missing, a directory, no permission). */
export function fileDiagnostic(file: string, err: Error): ManifestDiagnostic {
  return { code: 'STR_FILE', severity: 'error', path: '', file, message: err.message };
}

export class ManifestInvalidError extends Error {
  readonly code = 'STR_MANIFEST_INVALID';
  constructor(readonly diagnostics: readonly ManifestDiagnostic[]) {
    super(`manifest invalid:\n${diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n')}`);
  }
}
