// Backlog grouping: a request path becomes a template by folding the segments that are
// identifiers rather than names — numbers, UUIDs, long hex strings, dates — into placeholders.
// Everything else stays as written: `/static/app.js`, `/v2/users`, `/img/logo-2x.png`.

const NUMBER = /^[0-9]+$/;
const NUMBER_WITH_EXTENSION = /^([0-9]+)(\.[A-Za-z0-9]{1,8})$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** 16 or more hex digits with at least one digit: object ids, hashes; not words like "deadbeefcafebabe"-only letters. */
const LONG_HEX = /^(?=[a-fA-F]*[0-9])[0-9a-fA-F]{16,}$/;
/** 2026-12-01, 20261201, optionally with a time: 2026-12-01T10:00:00Z, 2026-12-01T10:00:00+01:00. */
const DATE = /^[0-9]{4}-?(0[1-9]|1[0-2])-?(0[1-9]|[12][0-9]|3[01])([T ][0-9]{2}(:?[0-9]{2}){1,2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/;

export const PLACEHOLDERS = Object.freeze({ number: '{id}', uuid: '{uuid}', hex: '{hex}', date: '{date}' });

/** Longer templates are cut here (with "…"), so a hostile path cannot make a huge key. */
export const MAX_TEMPLATE_LENGTH = 256;

function foldSegment(s: string): string {
  if (s === '') return s;
  if (DATE.test(s)) return PLACEHOLDERS.date;
  if (NUMBER.test(s)) return PLACEHOLDERS.number;
  if (UUID.test(s)) return PLACEHOLDERS.uuid;
  if (LONG_HEX.test(s)) return PLACEHOLDERS.hex;
  const ext = NUMBER_WITH_EXTENSION.exec(s);
  if (ext) return PLACEHOLDERS.number + ext[2];
  return s;
}

/** The template of a request URI ($request_uri: the query string is dropped). */
export function pathTemplate(uri: string): string {
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const out = path.split('/').map(foldSegment).join('/');
  return out.length > MAX_TEMPLATE_LENGTH ? out.slice(0, MAX_TEMPLATE_LENGTH - 1) + '…' : out;
}
