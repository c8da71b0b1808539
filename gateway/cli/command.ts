// The shape every `strangler <command>` module exports, and the argument parsing they share.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseAddress, type Address } from '../util/address';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  /** Full text for `strangler <command> --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** Exit codes shared by every command: 0 ok, 1 the thing checked is wrong/failed, 2 usage. */
export const EXIT = Object.freeze({ OK: 0, FAIL: 1, USAGE: 2 });

export class UsageError extends Error {}

/**
 * A whole-number option: null when absent; digits only, from min to max; otherwise a UsageError
 * naming the option (`alternatives` adds what else it accepts, e.g. `, or "auto"`).
 */
export function wholeNumberOption(option: string, text: string | undefined, min: number, max: number, alternatives = ''): number | null {
  if (text === undefined) return null;
  if (/^[0-9]+$/.test(text) && Number(text) >= min && Number(text) <= max) return Number(text);
  throw new UsageError(`--${option} ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}${alternatives}`);
}

/** An address option (--listen, --admin): parseAddress's rule, a malformed one a UsageError naming the option. */
export function addressOption(option: string, text: string, fallback: Address): Address {
  try {
    return parseAddress(text, fallback);
  } catch (err) {
    throw new UsageError(`--${option}: ${(err as Error).message}`);
  }
}

export function parseCommandArgs<const O extends OptionsConfig>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true } as { args: string[]; options: O; allowPositionals: true; strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
