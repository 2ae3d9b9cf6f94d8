import { type BinaryScorer, openBinaryScorer } from '../scoring/binaryScorer';
import { openThreadedScorer } from '../scoring/threadedScorer';

/** Requests of at least this many rows are scored on the model thread (see servingScorer). */
export const THREADED_ROWS = 64;

/** One version's scorer as the service runs it, and the sessions behind it (each is checked). */
export interface ServingScorer extends BinaryScorer {
  /** The sessions that answer requests: the main thread's, then the model thread's. */
  readonly sessions: readonly BinaryScorer[];
}

/**
 * Opens one version's file for serving: a session on the main thread (checked and named by
 * openBinaryScorer, with its errors) and one on a model thread of its own (threadedScorer.ts),
 * combined by servingScorer. A version with categorical features (string inputs, `categorical`)
 * gets the main session alone, fed their text as apply feeds it: the model thread takes float
 * rows only.
 */
export async function openServingScorer(
  onnx: Uint8Array,
  nFeatures: number,
  outputName: string | undefined,
  options: { intraOpThreads?: number; categorical?: string[] } = {},
): Promise<ServingScorer> {
  const intraOpThreads = options.intraOpThreads ?? 1;
  const categorical = options.categorical ?? [];
  if (categorical.length > 0) {
    const main = await openBinaryScorer(onnx, nFeatures - categorical.length, outputName, {
      intraOpThreads,
      categorical,
    });
    return { ...main, sessions: [main] };
  }
  const main = await openBinaryScorer(onnx, nFeatures, outputName, { intraOpThreads });
  return servingScorer(main, openThreadedScorer(onnx, nFeatures, main, { intraOpThreads }), nFeatures);
}

/**
 * One version's two warm sessions as one scorer: small requests on the main thread's session,
 * where a single row costs tens of microseconds and a hop to another thread would add more than
 * that; large ones on the session in its own thread, because onnxruntime-node computes on the
 * calling thread: there a batch no longer stops the main thread from reading the next request
 * and writing the last answer, so both cores work.
 *
 * Small requests that arrive together (read in the same turn of the event loop) are scored in
 * one run of the main session, up to `threadedRows` rows: a run of one row reads all the weights
 * (560 KB for the reference network) for one row, so under load, when requests queue up, the
 * weights are read once for all of them instead of once each. Each request still gets its own
 * rows' outputs; onnxruntime's CPU kernels compute a row alike in any batch (every row is the
 * same dot products in the same order), which test/unit/servingServer.test.ts checks.
 */
export function servingScorer(
  main: BinaryScorer,
  threaded: BinaryScorer,
  nFeatures: number,
  threadedRows = THREADED_ROWS,
): ServingScorer {
  const small = coalescing(main, nFeatures, threadedRows);
  return {
    inputName: main.inputName,
    outputName: main.outputName,
    sessions: [main, threaded],
    score: (x, nRows) => (nRows >= threadedRows ? threaded.score(x, nRows) : small(x, nRows)),
    async release() {
      await Promise.all([main.release(), threaded.release()]);
    },
  };
}

interface Waiting {
  x: Float32Array;
  nRows: number;
  resolve(probabilities: Float32Array): void;
  reject(error: unknown): void;
}

/**
 * `scorer.score` for requests queued until the event loop's check phase (setImmediate, where
 * onnxruntime-node runs a session anyway), then scored in runs of at most `maxRows` rows.
 */
function coalescing(
  scorer: BinaryScorer,
  nFeatures: number,
  maxRows: number,
): (x: Float32Array, nRows: number) => Promise<Float32Array> {
  let queue: Waiting[] = [];
  const flush = () => {
    const waiting = queue;
    queue = [];
    for (let start = 0; start < waiting.length; ) {
      let end = start + 1;
      let rows = (waiting[start] as Waiting).nRows;
      while (end < waiting.length && rows + (waiting[end] as Waiting).nRows <= maxRows) {
        rows += (waiting[end] as Waiting).nRows;
        end++;
      }
      run(waiting.slice(start, end), rows);
      start = end;
    }
  };
  const run = (group: Waiting[], rows: number) => {
    const only = group.length === 1 ? (group[0] as Waiting) : undefined;
    if (only) {
      scorer.score(only.x, only.nRows).then(only.resolve, only.reject);
      return;
    }
    const x = new Float32Array(rows * nFeatures);
    let at = 0;
    for (const w of group) {
      x.set(w.x.subarray(0, w.nRows * nFeatures), at * nFeatures);
      at += w.nRows;
    }
    scorer.score(x, rows).then(
      (probabilities) => {
        let from = 0;
        for (const w of group) {
          w.resolve(probabilities.slice(from, from + w.nRows));
          from += w.nRows;
        }
      },
      (error) => {
        for (const w of group) w.reject(error);
      },
    );
  };
  return (x, nRows) =>
    new Promise<Float32Array>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ x, nRows, resolve, reject });
    });
}
