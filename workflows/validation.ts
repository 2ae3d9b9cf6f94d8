import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';

/**
 * Workflow input is validated inside the workflow too, because anyone with access to the
 * Temporal server can start a workflow without going through the CLI. A bad input fails the
 * run at once with a non-retryable failure that lists every problem.
 */
export function parseWorkflowInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  workflow: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) => `${i.path.join('.') || '(input)'}: ${i.message}${received(input, i.path)}`,
  );
  throw ApplicationFailure.nonRetryable(
    `Invalid input for ${workflow}: ${problems.join('; ')}`,
    'InvalidWorkflowInput',
    problems,
  );
}

/**
 * " (got <value>)" for a short plain value at `path`, so the refusal names what was sent (a model
 * name, a number); nothing for objects, absent fields or long text.
 */
function received(input: unknown, path: ReadonlyArray<PropertyKey>): string {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  if (!['string', 'number', 'boolean'].includes(typeof value)) return '';
  const text = JSON.stringify(value);
  return text.length > 100 ? '' : ` (got ${text})`;
}
