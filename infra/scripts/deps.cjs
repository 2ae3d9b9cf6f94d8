// Whether node_modules was installed from the current dependency declarations, shared by
// ensure-deps.sh (which installs when not) and bin/slipway (which checks in the CLI's own process
// instead of starting a second Node for it). Plain JavaScript: it runs before anything is installed.
//
//   node infra/scripts/deps.cjs fingerprint     print the fingerprint of the current declarations
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
/** Written by ensure-deps.sh after an install: the fingerprint it installed from. */
const STAMP = join(ROOT, 'node_modules', '.slipway-deps');

/**
 * A fingerprint of what decides the install: the lockfile and package.json's dependency sections
 * (not its scripts, so editing a script does not trigger a reinstall). Content, not mtimes: a fresh
 * clone or a checkout changes every mtime.
 */
function fingerprint() {
  const p = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const h = createHash('sha256');
  h.update(JSON.stringify([p.dependencies, p.devDependencies, p.optionalDependencies, p.overrides]));
  h.update(readFileSync(join(ROOT, 'package-lock.json')));
  return h.digest('hex');
}

function depsUpToDate() {
  return (
    existsSync(join(ROOT, 'node_modules', '.package-lock.json')) &&
    existsSync(STAMP) &&
    readFileSync(STAMP, 'utf8') === fingerprint()
  );
}

module.exports = { fingerprint, depsUpToDate };

if (require.main === module && process.argv[2] === 'fingerprint') process.stdout.write(fingerprint());
