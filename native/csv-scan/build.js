#!/usr/bin/env node
// Builds the CSV scanner addon (src/csv_scan.c: the byte scanner's hot loop in C); run by the root
// package's postinstall and by `npm run build:native`. It needs only a C compiler. It is an
// accelerator, never a requirement: whatever goes wrong prints one notice line and exits 0, and
// the CSV reader then runs its JavaScript loop (same rows, same values, about 4x the CPU).
//
//   SLIPWAY_CSV_SCAN=off   skip the build (and remove an earlier one)

const { spawnSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const { join } = require('node:path');
const { runNodeGyp } = require('../nodeGyp');

const ADDON_DIR = __dirname;
const BUILD_DIR = join(ADDON_DIR, 'build');
const ADDON_FILE = join(BUILD_DIR, 'Release', 'csv_scan.node');
const LOG_FILE = join(ADDON_DIR, 'build.log');

function skip(reason) {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  console.log(
    `slipway: native CSV scanner not built (${reason}); CSV files are read by the JavaScript scanner, slower. ` +
      'For the fast path, install a C compiler (e.g. `apt-get install build-essential`) and run `npm run build:native`.',
  );
}

/** Loads the addon in a fresh process and reads two lines with it. */
function smokeTest() {
  const script = `
    const addon = require(${JSON.stringify(ADDON_FILE)});
    const buf = Buffer.from('1.5,-2,0\\n3,4.25,1\\n');
    const values = new Float64Array(4), labels = new Uint8Array(2);
    const rows = addon.scanLines(buf, 0, 3, Int32Array.of(0, 1, -1), 2, values, labels, new Int32Array(2), new Int32Array(2));
    const got = rows + ':' + Array.from(values).join(',') + ':' + Array.from(labels).join(',');
    if (got !== '2:1.5,-2,3,4.25:0,1') throw new Error('smoke test read ' + got);`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (run.error || run.status !== 0)
    throw new Error((run.error?.message ?? run.stderr).trim().split('\n')[0]);
}

function main() {
  const mode = (process.env.SLIPWAY_CSV_SCAN ?? 'auto').trim().toLowerCase();
  if (['off', '0', 'false', 'no'].includes(mode)) return skip(`SLIPWAY_CSV_SCAN=${mode}`);
  try {
    runNodeGyp(ADDON_DIR, LOG_FILE);
    smokeTest();
  } catch (err) {
    return skip(err instanceof Error ? err.message : String(err));
  }
}

try {
  main();
} catch (err) {
  console.log(
    `slipway: native CSV scanner build skipped after an unexpected error: ${err instanceof Error ? err.message : String(err)}`,
  );
}
process.exitCode = 0;
