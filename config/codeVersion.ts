import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PACKAGE_VERSION, REPO_ROOT } from './repoRoot';

let cached: string | undefined;

/**
 * The package version plus the git commit the process runs, recorded with every output and part of
 * every step-cache key. Uncommitted changes add a hash of the diff, so editing code in a checkout
 * never reuses outputs computed by the code before the edit.
 */
export function codeVersion(): string {
  cached ??= codeVersionOf(REPO_ROOT, PACKAGE_VERSION);
  return cached;
}

/**
 * The code version of the checkout at `root`: `<version>+<commit>`, plus `-dirty.<hash of the diff>`
 * when a tracked file differs from the commit. Only tracked files count: what the install and the
 * commands write (node_modules, the dist/ build, native build outputs, .slipway) is untracked and
 * ignored, so two clones of one commit report the same version after their quick start. The diff
 * names paths relative to the repository, so the same edit in two clones hashes the same.
 */
export function codeVersionOf(root: string, version: string): string {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 ** 2 });
  let commit = 'unknown';
  try {
    commit = git(['rev-parse', '--short=12', 'HEAD']).toString().trim();
    const diff = git(['diff', '--no-ext-diff', '--no-color', 'HEAD', '--', '.']);
    if (diff.length > 0) commit += `-dirty.${createHash('sha256').update(diff).digest('hex').slice(0, 12)}`;
  } catch {
    // Not a git checkout (a packaged worker): the package version alone identifies the code.
  }
  return `${version}+${commit}`;
}
