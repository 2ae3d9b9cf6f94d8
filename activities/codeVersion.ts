import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

let cached: string | undefined;

/** package version plus the git commit the worker runs, recorded with every output. */
export function codeVersion(): string {
  if (cached) return cached;
  const version = require('../package.json').version as string;
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: resolve(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    // Not a git checkout (a packaged worker): the package version alone identifies the code.
  }
  cached = `${version}+${commit}`;
  return cached;
}
