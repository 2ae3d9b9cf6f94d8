import { parentPort, workerData } from 'node:worker_threads';
import { serializeError, type TrainingThreadMessage } from './trainInThread';
import { runTrainingJob, type TrainingJob } from './trainingJob';

/**
 * The training thread's entry point, loaded by trainInThread.ts in a worker thread: runs one job
 * and reports to the parent. Not meant to be imported anywhere else.
 */
const port = parentPort;
if (!port) throw new Error('domain/ml/trainingThread.ts runs inside a worker thread; use trainInThread().');

const post = (message: TrainingThreadMessage, transfer: ArrayBuffer[] = []) =>
  port.postMessage(message, transfer);

/**
 * The parent acknowledges each epoch once it has stored its checkpoint and reported it. The next
 * epoch waits for that: a trainer faster than the storage (thousands of tiny epochs) would
 * otherwise queue a checkpoint per epoch in the parent's memory.
 */
let acknowledged: (() => void) | undefined;
port.on('message', (message: { kind?: string }) => {
  if (message?.kind === 'ack') {
    acknowledged?.();
    acknowledged = undefined;
  }
});

runTrainingJob(workerData as TrainingJob, {
  onStart: (start) => post({ kind: 'start', ...start }),
  onEpoch(epoch, checkpoint) {
    const handled = new Promise<void>((resolve) => {
      acknowledged = resolve;
    });
    // The checkpoint is fresh bytes nobody here keeps: hand its buffer over instead of copying it.
    const owned = checkpoint.byteOffset === 0 && checkpoint.byteLength === checkpoint.buffer.byteLength;
    post({ kind: 'epoch', epoch, checkpoint }, owned ? [checkpoint.buffer as ArrayBuffer] : []);
    return handled;
  },
})
  .then(
    (result) => post({ kind: 'done', result }),
    (error) => post({ kind: 'failed', error: serializeError(error) }),
  )
  .finally(() => port.removeAllListeners('message'));
