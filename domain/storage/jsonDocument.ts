import type { ZodError, z } from 'zod';
import type { ArtifactStore } from './artifactStore';

/** zod issues as one line: `path: message; path: message`; `whole` names an issue about the whole value. */
export function formatIssues(error: ZodError, whole = '(document)'): string {
  return error.issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ');
}

/** A document as it is stored: indented JSON and a final newline, so a person can read and diff it. */
export function serializeDocument(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Bytes read back as JSON and checked against the schema, or what is wrong with them, in words. */
export function parseJsonDocument<T>(
  bytes: Buffer,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { ok: false, problem: `it is not JSON (${(error as Error).message})` };
  }
  const parsed = schema.safeParse(json);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, problem: formatIssues(parsed.error) };
}

/**
 * The JSON document at `key`, validated; undefined when there is none. A document that is not JSON
 * or does not satisfy the schema raises the caller's Corrupt...Error, told what is wrong.
 */
export async function readJsonDocument<T>(
  store: ArtifactStore,
  key: string,
  schema: z.ZodType<T>,
  corrupt: (problem: string) => Error,
): Promise<T | undefined> {
  const raw = await store.getDocument(key);
  if (raw === undefined) return undefined;
  const parsed = parseJsonDocument(raw, schema);
  if (!parsed.ok) throw corrupt(parsed.problem);
  return parsed.value;
}
