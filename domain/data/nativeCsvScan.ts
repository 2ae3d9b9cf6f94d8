import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { envNow } from '../../config/env';
import { REPO_ROOT } from '../../config/repoRoot';

/** The addon's one function (native/csv-scan/src/csv_scan.c documents it). */
export interface CsvScanAddon {
  scanLines(
    buf: Uint8Array,
    pos: number,
    width: number,
    slots: Int32Array,
    target: number,
    values: Float64Array,
    labels: Uint8Array,
    starts: Int32Array,
    ends: Int32Array,
  ): number;
}

export const CSV_SCAN_ADDON_PATH = join(REPO_ROOT, 'native/csv-scan/build/Release/csv_scan.node');

let loaded: CsvScanAddon | null | undefined;

/**
 * The native scanner's hot loop, or undefined when it is not built (no C compiler at install) or
 * turned off with SLIPWAY_CSV_SCAN=off (read at every call, so a test or a thread started later
 * hears it): the byte scanner then reads every line in JavaScript, with the same rows and values.
 * Loaded once per thread (the addon keeps no state, so worker threads load it too).
 */
export function nativeCsvScan(): CsvScanAddon | undefined {
  if (envNow.csvScan() === 'off') return undefined;
  if (loaded === undefined) {
    loaded = null;
    if (existsSync(CSV_SCAN_ADDON_PATH)) {
      try {
        loaded = require(CSV_SCAN_ADDON_PATH) as CsvScanAddon;
      } catch {
        // A build for another Node ABI or platform: read in JavaScript.
      }
    }
  }
  return loaded ?? undefined;
}
