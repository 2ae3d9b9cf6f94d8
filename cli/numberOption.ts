import { UsageError } from './usageError';

/** What a numeric option accepts. Bounds are inclusive unless named `above`/`below`. */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/**
 * The one parser of numeric command-line options: `--epochs abc` is refused with
 * `--epochs must be a whole number, got "abc"`, `--epochs 0` with `--epochs must be at least 1,
 * got 0`, before anything starts.
 */
export function parseNumberOption(text: string, flag: string, rule: NumberRule = {}): number {
  const trimmed = text.trim();
  const n = trimmed === '' ? Number.NaN : Number(trimmed);
  const kind = rule.integer ? 'a whole number' : 'a number';
  if (!Number.isFinite(n) || (rule.integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be ${kind}, got ${JSON.stringify(text)}`);
  }
  const fail = (bound: string) => {
    throw new UsageError(`${flag} must be ${bound}, got ${trimmed}`);
  };
  if (rule.min !== undefined && n < rule.min) fail(`at least ${rule.min}`);
  if (rule.max !== undefined && n > rule.max) fail(`at most ${rule.max}`);
  if (rule.above !== undefined && n <= rule.above) fail(`greater than ${rule.above}`);
  if (rule.below !== undefined && n >= rule.below) fail(`less than ${rule.below}`);
  return n;
}

/** The same, as a commander option parser: `.option('--epochs <n>', '...', numberOption('--epochs', {...}))`. */
export function numberOption(flag: string, rule: NumberRule = {}): (value: string) => number {
  return (value: string) => parseNumberOption(value, flag, rule);
}
