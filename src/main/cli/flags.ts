/**
 * Parsers for the CLI's numeric and enum flags. Commander runs them while it reads the command
 * line, so a bad value stops the command before any work starts, with one plain line
 * ("error: option '--batch <n>' argument '0' is invalid. --batch takes …") and USAGE_ERROR.
 */
import { InvalidArgumentError } from 'commander';

/** Exit code of a command line that cannot run as written (commander's own usage errors too). */
export const USAGE_ERROR = 2;

const count = (n: number) => n.toLocaleString('en');

/** A whole number from `min` to `max`. */
export function integerFlag(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} takes a whole number from ${count(min)} to ${count(max)}`);
    }
    return n;
  };
}

/** Comma-separated whole numbers from `min` to `max`, without repeats. */
export function integerListFlag(name: string, min: number, max: number): (value: string) => number[] {
  const one = integerFlag(name, min, max);
  return (value) => {
    try {
      return [...new Set(value.split(',').map((v) => one(v.trim())))];
    } catch {
      throw new InvalidArgumentError(`${name} takes whole numbers from ${count(min)} to ${count(max)}, comma-separated`);
    }
  };
}

/** One of `choices`. */
export function choiceFlag<T extends string>(name: string, choices: readonly T[]): (value: string) => T {
  const listed = `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} is ${listed}`);
    return value as T;
  };
}

/** Wraps a parser that throws an ordinary error, so that commander reports it as a bad flag value. */
export function checkedFlag<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

/** `--model A,B`: one or more teacher ids, without repeats. */
export function teacherIds(value: string): string[] {
  const ids = value.split(',').map((id) => id.trim());
  if (ids.includes('')) throw new InvalidArgumentError('--model takes teacher ids, comma-separated (see `atl-studio models`)');
  return [...new Set(ids)];
}
