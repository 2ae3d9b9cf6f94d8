import { DomainError, errorKind } from '../errors';
/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 does) and no whitespace, so equal
 * values give equal text whatever order their keys were built in. Numbers use JavaScript's
 * shortest round-trip form, which is also RFC 8785's for finite numbers.
 *
 * Values JSON cannot hold faithfully are refused rather than silently changed (JSON.stringify
 * would turn NaN into null and drop functions), because a cache key that ignores part of its
 * input would return a wrong hit. `undefined` object properties are omitted, as JSON.stringify
 * does, so `{ a: undefined }` and `{}` are the same parameters.
 */
export class NonCanonicalValueError extends errorKind(DomainError, 'NonCanonicalValue') {}

export function canonicalJson(value: unknown): string {
  return write(value, '$', new Set());
}

function write(value: unknown, path: string, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw refuse(path, `${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw refuse(path, `a ${typeof value} has no JSON form`);
  }
  const object = value as object;
  if (ancestors.has(object)) throw refuse(path, 'it refers back to itself');
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      return `[${object.map((item, i) => write(item, `${path}[${i}]`, ancestors)).join(',')}]`;
    }
    const prototype = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      throw refuse(path, `a ${object.constructor?.name ?? 'class instance'} is not plain JSON data`);
    }
    const record = object as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${write(record[key], `${path}.${key}`, ancestors)}`);
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(object);
  }
}

function refuse(path: string, why: string): NonCanonicalValueError {
  return new NonCanonicalValueError(
    `Cannot hash the value at ${path}: ${why}. Step parameters must be plain JSON data (strings, finite ` +
      'numbers, booleans, null, arrays and plain objects).',
  );
}
