import { z } from 'zod';
import { InvalidAliasError } from './errors';

/** Alias names: "production", "staging", "shadow-eu"... (kept free of Node imports: workflows use it). */
export const ALIAS_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export const aliasNameSchema = z
  .string()
  .regex(
    ALIAS_NAME,
    'use 1-32 lowercase letters, digits and "-", starting with a letter (e.g. "production")',
  );

export function assertAliasName(alias: string): void {
  if (typeof alias !== 'string' || !ALIAS_NAME.test(alias)) {
    throw new InvalidAliasError(
      `Invalid alias ${JSON.stringify(alias)}: use 1-32 lowercase letters, digits and "-", starting with a letter ` +
        '(for example "production" or "staging").',
    );
  }
}
