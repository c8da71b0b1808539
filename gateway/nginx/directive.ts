// nginx config as data (crossplane's model: directive, args, block), rendered by one quoting
// function. No user value is ever pasted into config text any other way.

export interface Directive {
  readonly directive: string;
  readonly args: readonly string[];
  readonly block?: readonly Directive[];
  /** A comment line rendered above the directive (generator text only). */
  readonly comment?: string;
}

export function d(directive: string, args: readonly (string | number)[] = [], block?: readonly Directive[]): Directive {
  return block ? { directive, args: args.map(String), block } : { directive, args: args.map(String) };
}

/** An entry of a map or split_clients block: the key sits where a directive name would, so it is quoted too. */
export function entry(key: string, ...values: string[]): Directive {
  return { directive: quoteArg(key), args: values };
}

/** Characters nginx's tokenizer reads as part of a bare word with no special meaning. */
const BARE = /^[A-Za-z0-9_./:=@+,*^~!%&|()?<>\[\]-]+$/;

/**
 * Quote one argument so that nginx's tokenizer reads back exactly `value`.
 * Inside double quotes nginx unescapes \" and \\ (and turns \t \r \n into control characters),
 * so escaping backslash and double quote is enough for an exact round trip. Control characters
 * are refused: no allow-listed value contains one. `$` is not touched: whether a `$` may appear
 * is the caller's decision (variables are expanded inside quotes too), see `literal()`.
 */
export function quoteArg(value: string): string {
  // A bare word may not contain quotes, braces, `;`, `#`, whitespace, control characters or
  // backslashes; `$` only as a plain variable reference, which only the generator writes.
  if (BARE.test(value) || /^\$[A-Za-z0-9_]+$/.test(value)) return value;
  if (/[\x00-\x1f\x7f]/.test(value)) throw new Error(`refusing to write a control character into nginx.conf: ${JSON.stringify(value)}`);
  return '"' + value.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

/**
 * A user value for an argument nginx expands variables in (set, return, proxy_pass, map values…).
 * Validation already allow-lists these values; this is the second line of defence.
 */
export function literal(value: string): string {
  if (value.includes('$')) throw new Error(`refusing to write a user value containing "$" where nginx expands variables: ${JSON.stringify(value)}`);
  return value;
}

export function renderDirectives(directives: readonly Directive[], indent = 0): string {
  // Lines are collected and joined once: 10,000 routes make some 200,000 lines.
  const lines: string[] = [];
  renderInto(lines, directives, indent);
  return lines.join('');
}

function renderInto(lines: string[], directives: readonly Directive[], indent: number): void {
  const pad = '    '.repeat(indent);
  for (const dir of directives) {
    if (dir.comment !== undefined) {
      for (const line of dir.comment.split('\n')) lines.push(`${pad}# ${line.replace(/[\x00-\x1f\x7f]/g, ' ')}\n`);
    }
    let head = pad + dir.directive;
    for (const arg of dir.args) head += ' ' + quoteArg(arg);
    if (dir.block) {
      lines.push(head + ' {\n');
      renderInto(lines, dir.block, indent + 1);
      lines.push(pad + '}\n');
    } else {
      lines.push(head + ';\n');
    }
  }
}
