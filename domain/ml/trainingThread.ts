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

runTrainingJob(workerData as TrainingJob, {
  onStart: (start) => post({ kind: 'start', ...start }),
  onEpoch(epoch, checkpoint) {
    // The checkpoint is fresh bytes nobody here keeps: hand its buffer over instead of copying it.
    const owned = checkpoint.byteOffset === 0 && checkpoint.byteLength === checkpoint.buffer.byteLength;
    post({ kind: 'epoch', epoch, checkpoint }, owned ? [checkpoint.buffer as ArrayBuffer] : []);
  },
}).then(
  (result) => post({ kind: 'done', result }),
  (error) => post({ kind: 'failed', error: serializeError(error) }),
);
