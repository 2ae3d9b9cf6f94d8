/**
 * Wrong arguments or options, found by the command before it starts anything (exit code 2, see
 * cli/exitCodes.ts). The message says what is wrong and what to give instead. In a module of its
 * own: option parsers throw it at start-up, and cli/errors.ts loads the Temporal SDK.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A request the server refused (a review rule), said in the CLI's terms: printed as "refused: ...",
 * exit code 1 (the input was well-formed; the rule says no).
 */
export class RefusedError extends Error {
  override name = 'RefusedError';
}
