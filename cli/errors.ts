import { WorkflowFailedError } from '@temporalio/client';
import { ZodError } from 'zod';
import { describeError as describeAnyError } from '../application/describeError';
import { ConfigError } from '../config/env';
import { EXIT } from './exitCodes';
import { RefusedError, UsageError } from './usageError';

export { UsageError };

/** describeError (application/describeError.ts), with the CLI's own errors in its own words. */
export function describeError(err: unknown): string {
  if (err instanceof RefusedError) return `refused: ${err.message}`;
  if (err instanceof ZodError) {
    const lines = err.issues.map((i) => `  ${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`);
    return `error: invalid arguments:\n${lines.join('\n')}\n(run with --help for usage)`;
  }
  if (err instanceof ConfigError) return `configuration error: ${err.message}`;
  if (err instanceof UsageError) return `error: ${err.message}\n(run with --help for usage)`;
  return describeFileError(err) ?? describeAnyError(err);
}

/** What a file-system error on a path (Node's "ENOENT: no such file or directory, open 'x'") means, and what to do. */
const FILE_ERRORS: Record<string, (path: string) => string> = {
  ENOENT: (path) =>
    `${path}: no such file or folder (a file is written only into a folder that exists): check the path${path.startsWith('/') ? '' : `; it is relative to ${process.cwd()}`}.`,
  EACCES: (path) =>
    `${path}: permission denied; give a path you may read (or write), or change its permissions.`,
  EPERM: (path) => `${path}: not permitted; give another path, or change its permissions.`,
  EISDIR: (path) => `${path} is a folder; give a file's path.`,
  ENOTDIR: (path) => `${path}: part of the path is a file, not a folder; check the path.`,
  EEXIST: (path) => `${path} already exists; give another path, or remove it first.`,
  ENOSPC: (path) => `${path}: no space left on the device; free some, or write elsewhere.`,
  EROFS: (path) => `${path} is on a read-only file system; write elsewhere.`,
};

function describeFileError(err: unknown): string | undefined {
  const { code, path } = err as { code?: unknown; path?: unknown };
  if (!(err instanceof Error) || typeof code !== 'string' || typeof path !== 'string') return undefined;
  const say = FILE_ERRORS[code];
  return say ? `error: ${say(path)}` : undefined;
}

const REFUSALS = new Set([
  'AccessDenied',
  'SignatureInvalid',
  'SignatureKeyNotRegistered',
  'SignatureRequired',
]);

/**
 * The exit code for an error that ended a command: bad input (arguments, configuration, a file or
 * name the command refused before starting anything) or a failure (see cli/exitCodes.ts).
 */
export function exitCodeForError(err: unknown): number {
  if (err instanceof WorkflowFailedError) return EXIT.failed;
  if (err instanceof ZodError || err instanceof ConfigError || err instanceof UsageError)
    return EXIT.badInput;
  // Domain errors carry a type and say whether retrying could help; one that cannot is bad input,
  // except a refusal (the input was well-formed: the person may not do it, or a signature does not hold).
  const typed = err as { type?: unknown; retryable?: unknown };
  if (err instanceof Error && typeof typed.type === 'string' && typed.retryable === false)
    return REFUSALS.has(typed.type) ? EXIT.failed : EXIT.badInput;
  return EXIT.failed;
}
