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
// Stack traces name TypeScript files and lines, as they did when the CLI ran from source.
process.setSourceMapsEnabled(true);
require(join(dir, 'cli', 'main.js'));
