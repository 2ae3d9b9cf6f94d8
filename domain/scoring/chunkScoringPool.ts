import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RowPlan } from '../data/csvRows';
import { type ChunkJob, type ChunkReply, type ChunkThreadSetup, errorAsData } from './chunkProtocol';

// A thread is a fresh V8 isolate with no TypeScript loader: in a TS checkout it registers tsx's
// require hook (the same tsx bin/slipway runs on) before loading its entry; compiled JS needs none.
const ownExtension = extname(__filename);
const ENTRY = resolve(__dirname, `chunkScoringThread${ownExtension}`);
const BOOTSTRAP = [
  ownExtension === '.ts' ? `require(${JSON.stringify(createRequire(__filename).resolve('tsx/cjs'))});` : '',
  `require(${JSON.stringify(ENTRY)});`,
].join('\n');

interface Thread {
  worker: Worker;
  /** Chunks sent and not answered. */
  pending: Map<number, (reply: ChunkReply) => void>;
  /** Whether it has been sent the plan. */
  planned: boolean;
  /** Why it stopped, once it has. */
  failure?: ChunkReply & { error: unknown };
  exited: boolean;
}

/**
 * Scoring threads (chunkScoringThread.ts), each with its own onnxruntime session, that read,
 * score and write chunks of a plain CSV. A chunk goes to the thread with the fewest chunks
 * waiting; replies come back in any order (the caller puts them in file order).
 */
export class ChunkScoringPool {
  private readonly threads: Thread[];
  private nextId = 0;
  private released: Promise<void> | undefined;

  constructor(count: number, setup: ChunkThreadSetup) {
    this.threads = Array.from({ length: count }, () => {
      const worker = new Worker(BOOTSTRAP, {
        eval: true,
        // Not the parent's flags: those may load tsx's ESM hooks or a test runner's.
        execArgv: [],
        workerData: setup,
      });
      const thread: Thread = { worker, pending: new Map(), planned: false, exited: false };
      worker.on('message', (reply: ChunkReply) => {
        const resolveReply = thread.pending.get(reply.id);
        thread.pending.delete(reply.id);
        resolveReply?.(reply);
      });
      const fail = (error: Error) => {
        for (const [id, resolveReply] of thread.pending) resolveReply({ id, error: errorAsData(error) });
        thread.pending.clear();
        thread.failure ??= { id: -1, error: errorAsData(error) };
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        thread.exited = true;
        fail(new Error(`a scoring thread stopped (exit code ${code})`));
      });
      return thread;
    });
  }

  /** Scores a chunk of whole lines starting at line `line`. Never rejects: errors are replies. */
  score(bytes: Uint8Array, line: number, plan: RowPlan): Promise<ChunkReply> {
    const thread = this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    if (thread.failure) return Promise.resolve({ ...thread.failure, id });
    return new Promise<ChunkReply>((resolveReply) => {
      thread.pending.set(id, resolveReply);
      // A copy of exactly the chunk, handed over: the caller keeps its bytes (to read on from
      // them itself if the thread refuses the chunk), and cloning a view would copy its whole buffer.
      const copy = new Uint8Array(bytes);
      const job: ChunkJob = { id, bytes: copy, line, ...(thread.planned ? {} : { plan }) };
      thread.planned = true;
      thread.worker.postMessage(job, [copy.buffer]);
    });
  }

  /**
   * Ends the threads once they have finished the chunks they hold (a few milliseconds each), never
   * mid-call: onnxruntime aborts the process when a thread is terminated while it opens or runs a
   * session. Replies still to come are answered; the caller ignores them.
   */
  release(): Promise<void> {
    this.released ??= Promise.all(
      this.threads.map(async (t) => {
        if (t.exited) return;
        const exited = new Promise<void>((resolveExit) => t.worker.once('exit', () => resolveExit()));
        t.worker.postMessage('close');
        // A thread that does not end (it never should) is stopped rather than waited for forever.
        const stuck = setTimeout(() => void t.worker.terminate(), 30_000);
        await exited;
        clearTimeout(stuck);
      }),
    ).then(() => undefined);
    return this.released;
  }
}
