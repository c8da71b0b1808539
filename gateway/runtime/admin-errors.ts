// The admin API's error codes: every refusal is `{"error": "<message>", "code": "<CODE>"}`.
// Codes are stable (the dashboard and scripts match on them); docs/errors.md documents each one
// and test/error-catalogue.test.ts keeps the two in sync.

export const ADMIN_CODES = {
  STR_ADMIN_FOREIGN: 'the Host or Origin is not the admin API\'s own address (DNS-rebinding defence)',
  STR_ADMIN_NOT_FOUND: 'no such endpoint, route or dashboard file',
  STR_ADMIN_METHOD: 'the method is not allowed on this endpoint',
  STR_ADMIN_UNAUTHORIZED: 'no token, or a token that is neither the admin nor the read-only token',
  STR_ADMIN_READ_ONLY: 'a change was sent with the read-only token',
  STR_ADMIN_BAD_BODY: 'the body is not JSON or not the shape the endpoint takes',
  STR_ADMIN_DEFAULT_ROUTE: 'a change names the default route, which has no percent',
  STR_ADMIN_TOO_LARGE: 'the body is larger than 16 KiB',
  STR_ADMIN_MEDIA_TYPE: 'the body is not application/json',
  STR_ADMIN_AUDIT: 'the change is in effect but the audit log could not be written',
  STR_ADMIN_INTERNAL: 'an unexpected failure inside the admin API',
} as const;

export type AdminCode = keyof typeof ADMIN_CODES;

export class AdminError extends Error {
  constructor(readonly status: number, readonly code: AdminCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}
