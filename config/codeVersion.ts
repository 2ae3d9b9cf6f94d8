import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

let cached: string | undefined;

/**
 * The package version plus the git commit the process runs, recorded with every output and part of
 * every step-cache key. Uncommitted changes add a hash of the diff, so editing code in a checkout
 * never reuses outputs computed by the code before the edit.
 */
export function codeVersion(): string {
  if (cached) return cached;
  const version = require('../package.json').version as string;
  const root = resolve(__dirname, '..');
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 ** 2 });
  let commit = 'unknown';
  try {
    commit = git(['rev-parse', '--short=12', 'HEAD']).toString().trim();
    const diff = git(['diff', 'HEAD', '--', '.']);
    if (diff.length > 0) commit += `-dirty.${createHash('sha256').update(diff).digest('hex').slice(0, 12)}`;
  } catch {
    // Not a git checkout (a packaged worker): the package version alone identifies the code.
  }
  cached = `${version}+${commit}`;
  return cached;
}
