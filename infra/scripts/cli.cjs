// bin/slipway's Node half: runs the CLI from the build of the current sources (compiled first
// when they changed since the last build, see build.cjs), so no TypeScript is compiled at start.
'use strict';
const { join } = require('node:path');
const { ensureBuild } = require('./build.cjs');

const dir = ensureBuild();
// Stack traces name TypeScript files and lines, as they did when the CLI ran from source.
process.setSourceMapsEnabled(true);
require(join(dir, 'cli', 'main.js'));
