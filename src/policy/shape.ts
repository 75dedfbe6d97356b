// Shape checks for the policy wire format and the spawn options: each check takes a value and
// the path it was found at, records what is wrong as `path: message` issues, and returns the
// value with its defaults filled in (meaningful only when no issue was recorded).
//
// Why not zod: loading it costs 60-100 ms of a cold start (import('cordon') has a 25 ms budget,
// and `cordon run` builds a policy on every start), and its generic messages ("Invalid input")
// would reach users. These few combinators say what each field must be in our own words.
import type { PolicyIssue } from '../errors.js';

/** A check: returns `value` (defaults filled) and pushes an issue for each problem. */
export type Shape<T> = (value: unknown, at: string, issues: PolicyIssue[]) => T;

/** `at` extended by a key: `a.b`, `a[3]`, or `b` at the top. */
export function pathJoin(at: string, key: string | number): string {
  if (typeof key === 'number') return `${at}[${key}]`;
  return at === '' ? key : `${at}.${key}`;
}

// A missing field says "required" rather than the type it should have had.
const wrong = (value: unknown, message: string) => (value === undefined ? 'required' : message);

/** A string; each refinement returns a problem or undefined. */
export function string(message: string, ...refinements: ((s: string) => string | true | undefined)[]): Shape<string> {
  return (value, at, issues) => {
    if (typeof value !== 'string') {
      issues.push({ path: at, message: wrong(value, message) });
      return value as string;
    }
    for (const refine of refinements) {
      const problem = refine(value);
      if (typeof problem === 'string') {
        issues.push({ path: at, message: problem });
        break;
      }
    }
    return value;
  };
}

/** An integer in [min, max] (safe integers only). */
export function integer(message: string, min = 0, max = Number.MAX_SAFE_INTEGER): Shape<number> {
  return (value, at, issues) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) issues.push({ path: at, message: wrong(value, message) });
    return value as number;
  };
}

/** true or false. */
export function boolean(message: string): Shape<boolean> {
  return (value, at, issues) => {
    if (typeof value !== 'boolean') issues.push({ path: at, message: wrong(value, message) });
    return value as boolean;
  };
}

/** One of a few literal values. */
export function oneOf<const T extends string | number | boolean>(values: readonly T[], message: string): Shape<T> {
  return (value, at, issues) => {
    if (!(values as readonly unknown[]).includes(value)) issues.push({ path: at, message: wrong(value, message) });
    return value as T;
  };
}

/** A value only a predicate can judge (a function, an AbortSignal, a stream). */
export function satisfies<T>(test: (value: unknown) => boolean, message: string): Shape<T> {
  return (value, at, issues) => {
    if (!test(value)) issues.push({ path: at, message: wrong(value, message) });
    return value as T;
  };
}

/** An array of items, at most `max` long and at least `min` (default 0). */
export function arrayOf<T>(item: Shape<T>, message: string, max?: { count: number; message: string }, min = 0): Shape<T[]> {
  return (value, at, issues) => {
    if (!Array.isArray(value)) {
      issues.push({ path: at, message: wrong(value, message) });
      return value as T[];
    }
    if (max && value.length > max.count) {
      issues.push({ path: at, message: max.message });
      return value as T[];
    }
    if (value.length < min) {
      issues.push({ path: at, message: min === 1 ? 'must not be empty' : `must have at least ${min} entries` });
      return value as T[];
    }
    // An index loop, not map(): a hole in a sparse array is checked (as undefined), not skipped.
    const out: T[] = [];
    for (let i = 0; i < value.length; i++) out.push(item(value[i], pathJoin(at, i), issues));
    return out;
  };
}

/** `shape`, or null. */
export function nullable<T>(shape: Shape<T>): Shape<T | null> {
  return (value, at, issues) => (value === null ? null : shape(value, at, issues));
}

/** The first of `shapes` whose check passes; otherwise `message` (one issue, not one per alternative). */
export function either<T>(shapes: readonly Shape<T>[], message: string): Shape<T> {
  return (value, at, issues) => {
    for (const shape of shapes) {
      const tried: PolicyIssue[] = [];
      const out = shape(value, at, tried);
      if (tried.length === 0) return out;
    }
    issues.push({ path: at, message: wrong(value, message) });
    return value as T;
  };
}

/** A field of an object: its check, and a default for when it is absent (undefined). */
export interface Field<T = unknown> {
  shape: Shape<T>;
  /** Makes the field optional: absent stays absent when there is no fallback. */
  optional?: boolean;
  fallback?: () => T;
}
/** An optional field, absent → `fallback()` when given. */
export const optional = <T>(shape: Shape<T>, fallback?: () => T): Field<T> => (fallback ? { shape, optional: true, fallback } : { shape, optional: true });

/** What an object check does with keys it does not know. */
export type UnknownKeys = 'strip' | 'report' | ((keys: string[], at: string, issues: PolicyIssue[], input: Record<string, unknown>) => void);

/**
 * A plain object with these fields, checked in order (then its unknown keys): a field given as a
 * bare shape is required. Only own enumerable keys are read, once each. `nullIsAbsent`: a null
 * value counts as not given, as Node reads its options (the policy format refuses null, as serde).
 */
export function object(
  fields: Readonly<Record<string, Shape<unknown> | Field>>,
  message: string,
  unknownKeys: UnknownKeys = 'report',
  { nullIsAbsent = false }: { nullIsAbsent?: boolean } = {},
): Shape<Record<string, unknown>> {
  const absent = (v: unknown) => v === undefined || (nullIsAbsent && v === null);
  const entries = Object.entries(fields).map(([key, f]) => [key, typeof f === 'function' ? { shape: f } : f] as const);
  return (value, at, issues) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ path: at, message: wrong(value, message) });
      return value as Record<string, unknown>;
    }
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, field] of entries) {
      const v = Object.hasOwn(input, key) ? input[key] : undefined;
      if (absent(v) && field.optional) {
        if (field.fallback) out[key] = field.fallback();
        continue;
      }
      out[key] = field.shape(v, pathJoin(at, key), issues);
    }
    if (unknownKeys !== 'strip') {
      // A key set to undefined (or null, where null is absent) says nothing: only keys with a value count.
      const unknown = Object.keys(input).filter((key) => !Object.hasOwn(fields, key) && !absent(input[key]));
      if (unknown.length > 0) {
        if (unknownKeys === 'report') for (const key of unknown) issues.push({ path: pathJoin(at, key), message: 'unknown key' });
        else unknownKeys(unknown, at, issues, input);
      }
    }
    return out;
  };
}

/**
 * An object of string keys (its own enumerable ones) to `item`s: a plain object, process.env, a
 * class instance or an object of another realm; a Map or Set is refused (its entries are no keys).
 */
export function recordOf<T>(item: Shape<T>, message: string): Shape<Record<string, T>> {
  return (value, at, issues) => {
    const tag = Object.prototype.toString.call(value);
    if (typeof value !== 'object' || value === null || Array.isArray(value) || tag === '[object Map]' || tag === '[object Set]') {
      issues.push({ path: at, message: wrong(value, message) });
      return value as Record<string, T>;
    }
    const out: Record<string, T> = {};
    for (const [key, v] of Object.entries(value)) out[key] = item(v, pathJoin(at, key), issues);
    return out;
  };
}
