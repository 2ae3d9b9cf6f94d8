import { z } from 'zod';
import { InvalidModelNameError } from './errors';

/**
 * Model names become one segment of registry keys (and a directory on the local store), so they
 * are restricted to what is safe everywhere:
 *
 * - lowercase only: S3 keys are case-sensitive but the default file systems of macOS and Windows
 *   are not, so "Fraud" and "fraud" would be two models on one backend and one on another;
 * - no "/": a name is exactly one key segment. Namespaces (issue 13) will arrive as a separate
 *   `<namespace>/<model>` form parsed into two validated segments, not as slashes in this string;
 * - no "@": `slipway apply <model>@<version|alias>` uses it as the separator;
 * - starts with a letter or digit, so no name is "..", hidden, or looks like a CLI flag.
 *
 * The operations platform's own model names allow only letters, digits and "_"; the MLTK export
 * maps "." and "-" when it names the uploaded model.
 */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** Why `name` is not a valid model name, or undefined when it is. */
export function modelNameProblem(name: string): string | undefined {
  if (typeof name !== 'string') return 'it is not a string';
  if (name.length === 0) return 'it is empty';
  if (name.length > 128) return `it is ${name.length} characters long (at most 128)`;
  if (name.includes('/')) return 'it contains "/" (a model name is a single word, not a path)';
  if (/[A-Z]/.test(name)) return `it contains uppercase letters (use "${name.toLowerCase()}")`;
  if (!/^[a-z0-9]/.test(name)) return 'it must start with a lowercase letter or a digit';
  const bad = [...name].find((c) => !/[a-z0-9._-]/.test(c));
  if (bad !== undefined) return `it contains ${JSON.stringify(bad)}`;
  return undefined;
}

export function assertModelName(name: string): void {
  const problem = modelNameProblem(name);
  if (problem !== undefined) throw new InvalidModelNameError(String(name), problem);
}

/** The same rule for zod boundaries (workflow input, CLI arguments, metadata read back). */
export const modelNameSchema = z.string().superRefine((name, ctx) => {
  const problem = modelNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `invalid model name: ${problem}` });
});
