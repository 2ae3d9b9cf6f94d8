// bin/slipway's Node half: runs the CLI from the build of the current sources (compiled first
// when they changed since the last build, see build.cjs), so no TypeScript is compiled at start.
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { depsUpToDate } = require('./deps.cjs');

// Checked here rather than by running ensure-deps.sh first: one Node start instead of two.
if (!depsUpToDate()) {
  const install = spawnSync('bash', [join(__dirname, 'ensure-deps.sh')], { stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const dir = require('./build.cjs').ensureBuild();
// A worker's stack traces (in activity failures and its log) name TypeScript files and lines, as
// when it ran from source. Not for the other commands: they print messages, not stacks, and reading
// the source maps of every module they load costs about a tenth of a second at each start
// (NODE_OPTIONS=--enable-source-maps turns them on for any command).
if (process.argv[2] === 'worker') process.setSourceMapsEnabled(true);
require(join(dir, 'cli', 'main.js'));
