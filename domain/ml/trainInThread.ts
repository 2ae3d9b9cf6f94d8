import { Worker } from 'node:worker_threads';
import { threadBootstrap } from '../threadBootstrap';
import { TrainingInputError } from './errors';
import type { EpochResult } from './train';
import type { TrainingJob, TrainingJobHooks, TrainingJobResult, TrainingJobStart } from './trainingJob';

/**
 * Runs a training job (trainingJob.ts) in a worker thread, so the caller's event loop stays free
 * while batches run: a Temporal worker keeps serving workflow tasks, queries and heartbeats.
 * Every backend (WASM, WASM with native GEMM, plain CPU, tfjs-node) blocks the thread it runs on;
 * here that is the training thread, one per job, ended when the job ends or is aborted.
 *
 * The protocol: the job goes in as workerData (its big byte arrays transferred, not copied); the
 * thread posts `start`, one `epoch` per epoch with the checkpoint bytes (transferred), then `done`
 * or `failed` with the error's name, message, type and retryable flag, which come back as the
 * same kind of error (a TrainingInputError stays one, non-retryable, same type and message).
 */

/** What the training thread posts to its parent. */
export type TrainingThreadMessage =
  | ({ kind: 'start' } & TrainingJobStart)
  | { kind: 'epoch'; epoch: EpochResult; checkpoint: Uint8Array }
  | { kind: 'done'; result: TrainingJobResult }
  | { kind: 'failed'; error: ThreadError };

/** An error as it crosses the thread boundary: what failure mapping and logs need. */
export interface ThreadError {
  name: string;
  message: string;
  stack?: string;
  type?: string;
  retryable?: boolean;
  details?: unknown;
  /** A TrainingInputError, revived as one. */
  trainingInput?: boolean;
}

export interface TrainInThreadOptions extends TrainingJobHooks {
  /** Aborting ends the thread at once (mid-batch) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

const BOOTSTRAP = threadBootstrap(__dirname, 'trainingThread');

let running = 0;

/** Training threads alive in this process (started and not yet exited). */
export function runningTrainingThreads(): number {
  return running;
}

/**
 * Trains in a new worker thread. The job's snapshot, split and scaler arrays are handed over to
 * the thread when they own their whole buffer (the caller must not use them afterwards); the
 * resume checkpoint is copied, since the caller may still need it. `onEpoch` calls run one after
 * another in epoch order while training goes on; the promise settles after the last one.
 */
export function trainInThread(
  job: TrainingJob,
  options: TrainInThreadOptions = {},
): Promise<TrainingJobResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('training aborted'));
  return new Promise<TrainingJobResult>((resolvePromise, rejectPromise) => {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      // Not the parent's flags: those may load tsx's ESM hooks or a test runner's, which the
      // bootstrap above replaces.
      execArgv: [],
      workerData: job,
      transferList: transferable([job.snapshot, job.split, job.scaler]),
    });
    running++;
    let settled = false;
    /** The thread reported its outcome; it may exit before the last epoch handler is done. */
    let finished = false;
    // Epoch handlers run in order, each after the previous one finished.
    let handled: Promise<void> = Promise.resolve();

    const settle = (outcome: { result: TrainingJobResult } | { error: unknown }) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if ('result' in outcome) resolvePromise(outcome.result);
      else rejectPromise(outcome.error);
    };
    const onAbort = () => settle({ error: signal?.reason ?? new Error('training aborted') });
    signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (message: TrainingThreadMessage) => {
      switch (message.kind) {
        case 'start':
          options.onStart?.({ backend: message.backend, classWeights: message.classWeights });
          return;
        case 'epoch':
          handled = handled.then(async () => {
            await options.onEpoch?.(message.epoch, message.checkpoint);
            // The thread waits for this before its next epoch (see trainingThread.ts).
            if (!settled) worker.postMessage({ kind: 'ack' });
          });
          handled.catch((error) => settle({ error }));
          return;
        case 'done':
          finished = true;
          handled.then(() => settle({ result: message.result }));
          return;
        case 'failed': {
          finished = true;
          // Let the epochs before the failure finish storing their checkpoints: a retry resumes from them.
          const error = reviveError(message.error);
          handled.then(
            () => settle({ error }),
            () => settle({ error }),
          );
          return;
        }
      }
    });
    worker.on('error', (error) => settle({ error }));
    worker.on('exit', (code) => {
      running--;
      if (!finished)
        settle({ error: new Error(`the training thread stopped (exit code ${code}) before it finished`) });
    });
  });
}

/** ArrayBuffers that may move to the thread: only those a view owns entirely (not Buffer's shared pool). */
function transferable(views: Array<Uint8Array | undefined>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const view of views) {
    if (!view || !(view.buffer instanceof ArrayBuffer)) continue;
    if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength) out.add(view.buffer);
  }
  return [...out];
}

/** Used by the thread: an error as plain data. */
export function serializeError(err: unknown): ThreadError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const { type, retryable, details } = err as Error & {
    type?: unknown;
    retryable?: unknown;
    details?: unknown;
  };
  let cloned: unknown;
  try {
    cloned = details === undefined ? undefined : structuredClone(details);
  } catch {
    cloned = undefined; // not cloneable: leave it out rather than fail the report of the failure
  }
  return {
    name: err.name,
    message: err.message,
    stack: err.stack,
    type: typeof type === 'string' ? type : undefined,
    retryable: typeof retryable === 'boolean' ? retryable : undefined,
    details: cloned,
    trainingInput: err instanceof TrainingInputError,
  };
}

/** The thread's error as the caller would have seen it had the job run in its own thread. */
export function reviveError(e: ThreadError): Error {
  let err: Error;
  if (e.trainingInput && e.type) {
    err = new TrainingInputError(e.type as TrainingInputError['type'], e.message);
  } else {
    err = new Error(e.message);
    err.name = e.name;
    const extra = err as Error & { type?: string; retryable?: boolean; details?: unknown };
    if (e.type !== undefined) extra.type = e.type;
    if (e.retryable !== undefined) extra.retryable = e.retryable;
    if (e.details !== undefined) extra.details = e.details;
  }
  if (e.stack) err.stack = e.stack;
  return err;
}
