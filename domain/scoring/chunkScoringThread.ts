// A scoring thread of chunkScoring.ts: takes chunks of a plain CSV (whole lines), reads them with
// the byte scanner of domain/data/csvRows.ts, scores them with its own onnxruntime session and
// writes their output lines, which go back to the main thread to be written in file order.
import { parentPort, workerData } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { LineScanner } from '../data/csvRows';
import { type ChunkJob, type ChunkReply, type ChunkThreadSetup, errorAsData } from './chunkProtocol';
import { positiveClass } from './positiveClass';
import { SUFFIX_BYTES, writeScoredFields } from './scoredFields';

const setup = workerData as ChunkThreadSetup;
const port = parentPort;
if (!port) throw new Error('chunkScoringThread runs as a worker thread');

const runtime = require('onnxruntime-node') as typeof ort;
const opened = runtime.InferenceSession.create(setup.onnx, {
  intraOpNumThreads: setup.intraOpThreads,
  // Lets the thread exit without a spinning pool: one intra-op thread is this thread itself.
  ...(setup.intraOpThreads === 1 ? { interOpNumThreads: 1 } : {}),
});
const nF = setup.nFeatures;
let plan: ChunkJob['plan'];

// Per-chunk state, reused chunk after chunk: feature values (float32, the model's input) and
// where each row's line is in the chunk.
let x = new Float32Array(0);
let lineStart = new Int32Array(0);
let lineEnd = new Int32Array(0);
let rows = 0;

function ensureRows(capacity: number): void {
  if (capacity <= lineStart.length) return;
  const size = Math.max(capacity, 2 * lineStart.length, 1024);
  const grownX = new Float32Array(size * nF);
  grownX.set(x);
  x = grownX;
  const grownStart = new Int32Array(size);
  grownStart.set(lineStart);
  lineStart = grownStart;
  const grownEnd = new Int32Array(size);
  grownEnd.set(lineEnd);
  lineEnd = grownEnd;
}

async function scoreChunk(job: ChunkJob): Promise<ChunkReply> {
  plan = job.plan ?? plan;
  const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  rows = 0;
  const scanner = new LineScanner(
    setup.file,
    undefined,
    (values, _label, _row, source) => {
      if (rows === lineStart.length) ensureRows(rows + 1);
      x.set(values, rows * nF);
      lineStart[rows] = source.start;
      lineEnd[rows] = source.end;
      rows++;
    },
    plan,
    job.line,
  );
  // The chunk ends at a line break (or the file's end), so every line in it is complete.
  const stopped = await scanner.lines(bytes, true);
  // A line the scanner cannot take: the main thread reads on from this chunk's start the way
  // a single reader does (plain lines, then csv-parse), so nothing of this chunk is used.
  if (stopped !== undefined) return { id: job.id, refused: true };

  const session = await opened;
  const probabilities = new Float32Array(rows);
  for (let from = 0; from < rows; from += setup.batchRows) {
    const n = Math.min(setup.batchRows, rows - from);
    const input = new runtime.Tensor('float32', x.subarray(from * nF, (from + n) * nF), [n, nF]);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await session.run({ [setup.inputName]: input }, [setup.outputName]);
    } catch (error) {
      throw new Error(`onnxruntime failed to score a batch: ${(error as Error).message}`);
    }
    const scores = result[setup.outputName] as ort.Tensor;
    probabilities.set(positiveClass(scores.data as Float32Array, scores.dims, n, setup.outputName), from);
  }

  // Owns its memory, so it moves to the main thread without a copy.
  const out = Buffer.from(new ArrayBuffer(bytes.length + rows * SUFFIX_BYTES));
  let o = 0;
  let positives = 0;
  const { threshold } = setup;
  for (let i = 0; i < rows; i++) {
    o += bytes.copy(out, o, lineStart[i] as number, lineEnd[i] as number);
    const probability = probabilities[i] as number;
    const label = probability >= threshold ? 1 : 0;
    positives += label;
    o = writeScoredFields(out, o, probability, label);
  }
  return { id: job.id, output: out.subarray(0, o), rows, positives };
}

// One chunk at a time, in the order they come: the state above is shared.
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
      reply = await scoreChunk(job);
    } catch (error) {
      reply = { id: job.id, error: errorAsData(error) };
    }
    port.postMessage(reply, 'output' in reply ? [reply.output.buffer as ArrayBuffer] : []);
  });
});
