import { z } from 'zod';
import { InvalidModelNameError } from './errors';

export const DEFAULT_NAMESPACE = 'default';

export interface QualifiedModelName {
  /** DEFAULT_NAMESPACE when the name has none. */
  namespace: string;
  /** The part after the "/", or the whole name. */
  model: string;
  /** Whether the name spelled its namespace out. */
  qualified: boolean;
}

/** Why one part (the namespace or the model) is invalid, or undefined. */
function partProblem(part: string, what: string, maxLength: number): string | undefined {
  if (part.length === 0) return `its ${what} is empty`;
  if (part.length > maxLength) return `its ${what} is ${part.length} characters long (at most ${maxLength})`;
  if (/[A-Z]/.test(part)) return `its ${what} contains uppercase letters (use "${part.toLowerCase()}")`;
  if (!/^[a-z0-9]/.test(part)) return `its ${what} must start with a lowercase letter or a digit`;
  const bad = [...part].find((c) => !/[a-z0-9._-]/.test(c));
  if (bad !== undefined) return `its ${what} contains ${JSON.stringify(bad)}`;
  return undefined;
}

/** Why `name` is not a valid model name, or undefined when it is. */
export function modelNameProblem(name: string): string | undefined {
  if (typeof name !== 'string') return 'it is not a string';
  if (name.length === 0) return 'it is empty';
  const parts = name.split('/');
  if (parts.length > 2) {
    return 'it contains more than one "/" (a model name is <model> or <namespace>/<model>, never a path)';
  }
  if (parts.length === 2) {
    return (
      partProblem(parts[0] as string, 'namespace', 64) ?? partProblem(parts[1] as string, 'model part', 128)
    );
  }
  return partProblem(name, 'name', 128)?.replace(/^its name/, 'it');
}

export function assertModelName(name: string): void {
  const problem = modelNameProblem(name);
  if (problem !== undefined) throw new InvalidModelNameError(String(name), problem);
}

/** The namespace and model parts of a valid name. */
export function parseModelName(name: string): QualifiedModelName {
  assertModelName(name);
  const slash = name.indexOf('/');
  if (slash < 0) return { namespace: DEFAULT_NAMESPACE, model: name, qualified: false };
  return { namespace: name.slice(0, slash), model: name.slice(slash + 1), qualified: true };
}

/**
 * The store path of a model's documents below a root such as `registry/`: `models/<model>` for
 * the default namespace (the layout before namespaces), `namespaces/<ns>/models/<model>` otherwise,
 * so no model name can reach into another model's folder.
 */
export function modelPath(name: string): string {
  const { namespace, model, qualified } = parseModelName(name);
  return qualified ? `namespaces/${namespace}/models/${model}` : `models/${model}`;
}

/** The model name a `modelPath` denotes (its inverse), or undefined. */
export function modelNameOfPath(path: string): string | undefined {
  const match = /^(?:namespaces\/([^/]+)\/)?models\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  const name = match[1] ? `${match[1]}/${match[2]}` : (match[2] as string);
  return modelNameProblem(name) === undefined ? name : undefined;
}

/** The same rule for zod boundaries (workflow input, CLI arguments, metadata read back). */
export const modelNameSchema = z.string().superRefine((name, ctx) => {
  const problem = modelNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `invalid model name: ${problem}` });
});
