import { randomBytes } from 'node:crypto';
import type { ArtifactStore } from '../domain/storage/artifactStore';
import { median, secondsSince } from './lib/stats';

export interface ArtifactIoReport {
  store: string;
  bytes: number;
  runs: number;
  writeMBps: number[];
  readMBps: number[];
  medianWriteMBps: number;
  medianReadMBps: number;
}

/**
 * MB/s (10^6 bytes) of one object put into and read back from a store through the ArtifactStore
 * interface the activities use: put hashes and writes, getBytes reads and verifies the sha256.
 * Each run uses fresh random bytes, so a content-addressed put never finds its object already
 * there. A local read may come from the page cache.
 */
export async function measureArtifactIo(
  name: string,
  store: ArtifactStore,
  options: { bytes: number; runs: number },
): Promise<ArtifactIoReport> {
  const writeMBps: number[] = [];
  const readMBps: number[] = [];
  for (let r = 0; r < options.runs; r++) {
    const body = randomBytes(options.bytes);
    let t0 = performance.now();
    const ref = await store.put(body, {
      kind: 'dataset',
      mediaType: 'application/octet-stream',
      extension: '.bin',
    });
    writeMBps.push(options.bytes / 1e6 / secondsSince(t0));
    t0 = performance.now();
    const back = await store.getBytes(ref);
    readMBps.push(options.bytes / 1e6 / secondsSince(t0));
    if (back.length !== options.bytes)
      throw new Error(`${name}: read ${back.length} bytes of ${options.bytes}`);
  }
  return {
    store: name,
    bytes: options.bytes,
    runs: options.runs,
    writeMBps,
    readMBps,
    medianWriteMBps: median(writeMBps),
    medianReadMBps: median(readMBps),
  };
}
