// The CLI's ahead-of-time build: every TypeScript source file the CLI and the worker run,
// transpiled file by file to CommonJS JavaScript with esbuild (the transform tsx applies on the fly,
// done once instead of at every start; no type checking, that is `npm run typecheck`).
//
// Each build lives in dist/<hash of the sources>/, so the build a command runs is the build of the
// sources as they are now: edit a file and the next command computes another hash and builds again
// (about a second); a stale build is never run. A process keeps requiring from the directory it
// started in, so a rebuild never changes the code under a running worker. Plain JavaScript: this runs
// before anything is compiled.
//
//   node infra/scripts/build.cjs          build when the sources changed, print the build directory
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } =
  require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
/** What the CLI, the worker and the console run (tests and the bench run from source through vitest and tsx). */
const SOURCE_DIRS = [
  'activities',
  'application',
  'cli',
  'config',
  'console',
  'contracts',
  'domain',
  'infra',
  'worker',
  'workflows',
];
/** Builds kept besides the current one, newest first: a long-running worker may still load from one. */
const KEEP_OLD_BUILDS = 4;

function sourceFiles() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(ROOT, dir));
  return files.sort();
}

/**
 * A hash of every source file's path and content, of this script (its options decide the output)
 * and of the esbuild and tsconfig it compiles with. Content, not mtimes: a checkout or a fresh clone
 * changes every mtime but not what is built. About 10 ms for the ~170 files.
 */
function buildHash(files) {
  const hash = createHash('sha256');
  hash.update(readFileSync(__filename));
  hash.update(readFileSync(join(ROOT, 'tsconfig.json')));
  hash.update(require('esbuild/package.json').version);
  for (const file of files) {
    hash.update(`\0${relative(ROOT, file)}\0`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The build directory of the current sources, compiled first when there is none. */
function ensureBuild() {
  const files = sourceFiles();
  const dir = join(DIST, buildHash(files));
  if (existsSync(join(dir, 'cli', 'main.js'))) {
    const now = new Date();
    utimesSync(dir, now, now); // marks it as in use, for pruneOldBuilds
    return dir;
  }
  // Written aside and renamed into place: two commands starting together both build, the first
  // rename wins, and no process ever sees a half-written build.
  const tmp = join(DIST, `.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(DIST, { recursive: true });
  try {
    require('esbuild').buildSync({
      entryPoints: files,
      outdir: tmp,
      outbase: ROOT,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      // Stack traces can name the TypeScript lines (cli.cjs turns source maps on for the worker).
      sourcemap: 'linked',
      logLevel: 'error',
    });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (!existsSync(join(dir, 'cli', 'main.js'))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneOldBuilds(dir);
  return dir;
}

function pruneOldBuilds(current) {
  const entries = readdirSync(DIST, { withFileTypes: true });
  // A build interrupted half-way (the process was killed) leaves its temporary folder behind.
  for (const e of entries.filter((e) => e.name.startsWith('.tmp-'))) {
    const path = join(DIST, e.name);
    if (Date.now() - statSync(path).mtimeMs > 3600_000) rmSync(path, { recursive: true, force: true });
  }
  const builds = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && join(DIST, e.name) !== current)
    .map((e) => ({ path: join(DIST, e.name), used: statSync(join(DIST, e.name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const old of builds.slice(KEEP_OLD_BUILDS)) rmSync(old.path, { recursive: true, force: true });
}

module.exports = { ensureBuild, sourceFiles, buildHash, ROOT, DIST };

if (require.main === module) process.stdout.write(`${ensureBuild()}\n`);
