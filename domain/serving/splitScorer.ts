import type { BinaryScorer } from '../scoring/binaryScorer';

/** Requests of at least this many rows are scored on the model thread (see splitScorer). */
export const THREADED_ROWS = 64;

/**
 * One version's two warm sessions as one scorer: small requests on the main thread's session,
 * where a single row costs about 50 us and a hop to another thread would add more than that; large
 * ones on the session in its own thread (domain/scoring/threadedScorer.ts), because
 * onnxruntime-node computes on the calling thread: there a batch no longer stops the main thread
 * from parsing the next request and writing the last answer, so both cores work.
 */
export function splitScorer(
  main: BinaryScorer,
  threaded: BinaryScorer,
  threadedRows = THREADED_ROWS,
): BinaryScorer {
  return {
    inputName: main.inputName,
    outputName: main.outputName,
    score: (x, nRows) => (nRows >= threadedRows ? threaded.score(x, nRows) : main.score(x, nRows)),
    async release() {
      await Promise.all([main.release(), threaded.release()]);
    },
  };
}
