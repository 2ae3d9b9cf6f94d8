// A scoring thread of chunkScoringPool.ts: takes chunks of a plain CSV (whole lines), reads,
// scores (its own onnxruntime session) and writes them with a ChunkScorer, and sends the output
// back to the main thread, which writes the chunks in file order.
import { parentPort, workerData } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { RowPlan } from '../data/csvRows';
import { type ChunkJob, type ChunkReply, type ChunkThreadSetup, errorAsData } from './chunkProtocol';
import { ChunkScorer } from './chunkScorer';
import { positiveClass } from './positiveClass';

const setup = workerData as ChunkThreadSetup;
const port = parentPort;
if (!port) throw new Error('chunkScoringThread runs as a worker thread');

const runtime = require('onnxruntime-node') as typeof ort;
const opened = runtime.InferenceSession.create(setup.onnx, {
  intraOpNumThreads: setup.intraOpThreads,
  // No inter-op pool either: the reference graphs are a chain of layers.
  ...(setup.intraOpThreads === 1 ? { interOpNumThreads: 1 } : {}),
});
const scorer = new ChunkScorer(setup, async (x, nRows) => {
  const session = await opened;
  const input = new runtime.Tensor('float32', x, [nRows, setup.nFeatures]);
  const result = await session.run({ [setup.inputName]: input }, [setup.outputName]);
  const scores = result[setup.outputName] as ort.Tensor;
  return positiveClass(scores.data as Float32Array, scores.dims, nRows, setup.outputName);
});
let plan: RowPlan | undefined;

// One chunk at a time, in the order they come: the scorer's buffers are reused.
let queue: Promise<void> = Promise.resolve();
port.on('message', (job: ChunkJob | 'close') => {
  if (job === 'close') {
    // Ends once the chunks before are done and the session is released: a thread terminated
    // while onnxruntime opens or runs a session takes the whole process down.
    queue = queue.then(async () => {
      await (await opened.catch(() => undefined))?.release();
      port.close();
    });
    return;
  }
  queue = queue.then(async () => {
    let reply: ChunkReply;
    try {
      plan = job.plan ?? plan;
      const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
      reply = await scorer.run(job.id, bytes, job.line, plan as RowPlan);
    } catch (error) {
      reply = { id: job.id, error: errorAsData(error) };
    }
    port.postMessage(reply, 'output' in reply ? [reply.output.buffer as ArrayBuffer] : []);
  });
});
