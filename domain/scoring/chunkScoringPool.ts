import { Worker } from 'node:worker_threads';
import type { RowPlan } from '../data/csvRows';
import { threadBootstrap } from '../threadBootstrap';
import { type ChunkJob, type ChunkReply, type ChunkThreadSetup, errorAsData } from './chunkProtocol';
import type { ChunkScorer } from './chunkScorer';

const BOOTSTRAP = threadBootstrap(__dirname, 'chunkScoringThread');

/** Chunks a scoring thread is given ahead: one to work on, one waiting, so it never idles. */
const AHEAD = 2;

interface Lane {
  /** Chunks given and not answered. */
  pending: number;
  run(bytes: Uint8Array, line: number, plan: RowPlan): Promise<ChunkReply>;
  release(): Promise<void>;
}

/**
 * Where chunks of a plain CSV are read, scored and written: scoring threads
 * (chunkScoringThread.ts), each with its own onnxruntime session, and the calling thread itself
 * with `local` (its own session), which otherwise only reads and writes. A chunk goes to a
 * thread with fewer than two chunks in hand, else to the calling thread when it is free, so the
 * threads are kept busy and the calling thread takes what they cannot; its own chunk holds up its
 * reading and writing for a few milliseconds at most. Replies come back in any order (the caller
 * puts them in file order).
 */
export class ChunkScoringPool {
  private readonly threads: Lane[];
  private readonly local: Lane | undefined;
  private released: Promise<void> | undefined;

  constructor(threads: number, setup: ChunkThreadSetup, local?: ChunkScorer) {
    this.threads = Array.from({ length: threads }, () => threadLane(setup));
    this.local = local && localLane(local);
  }

  /** Scores a chunk of whole lines starting at line `line`. Never rejects: errors are replies. */
  score(bytes: Uint8Array, line: number, plan: RowPlan): Promise<ChunkReply> {
    let lane = this.threads.reduce<Lane | undefined>(
      (a, b) => (a && a.pending <= b.pending ? a : b),
      undefined,
    );
    if (this.local && (!lane || (lane.pending >= AHEAD && this.local.pending === 0))) lane = this.local;
    if (!lane) throw new Error('ChunkScoringPool: no thread to score with');
    lane.pending++;
    const scored = lane.run(bytes, line, plan);
    return scored.then((reply) => {
      (lane as Lane).pending--;
      return reply;
    });
  }

  /**
   * Ends the threads once they have finished the chunks they hold (a few milliseconds each), never
   * mid-call: onnxruntime aborts the process when a thread is terminated while it opens or runs a
   * session. Replies still to come are answered; the caller ignores them.
   */
  release(): Promise<void> {
    this.released ??= Promise.all(
      [...this.threads, ...(this.local ? [this.local] : [])].map((l) => l.release()),
    ).then(() => undefined);
    return this.released;
  }
}

/** Chunks scored on the calling thread, one after another. */
function localLane(scorer: ChunkScorer): Lane {
  let queue: Promise<unknown> = Promise.resolve();
  let id = 0;
  const lane: Lane = {
    pending: 0,
    run(bytes, line, plan) {
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const reply = queue.then(() =>
        scorer
          .run(id++, buffer, line, plan)
          .catch((error): ChunkReply => ({ id, error: errorAsData(error) })),
      );
      queue = reply;
      return reply;
    },
    async release() {
      await queue;
    },
  };
  return lane;
}

/** Chunks scored on a thread of their own. */
function threadLane(setup: ChunkThreadSetup): Lane {
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    // Not the parent's flags: those may load tsx's ESM hooks or a test runner's.
    execArgv: [],
    workerData: setup,
  });
  const waiting = new Map<number, (reply: ChunkReply) => void>();
  let failure: Error | undefined;
  let exited = false;
  let planned = false;
  let nextId = 0;
  worker.on('message', (reply: ChunkReply) => {
    const answer = waiting.get(reply.id);
    waiting.delete(reply.id);
    answer?.(reply);
  });
  const fail = (error: Error) => {
    failure ??= error;
    for (const [id, answer] of waiting) answer({ id, error: errorAsData(error) });
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => {
    exited = true;
    fail(new Error(`a scoring thread stopped (exit code ${code})`));
  });
  let released: Promise<void> | undefined;
  return {
    pending: 0,
    run(bytes, line, plan) {
      const id = nextId++;
      if (failure) return Promise.resolve({ id, error: errorAsData(failure) });
      return new Promise<ChunkReply>((answer) => {
        waiting.set(id, answer);
        // A copy of exactly the chunk, handed over: the caller keeps its bytes (to read on from
        // them itself if the thread refuses the chunk), and cloning a view would copy its whole buffer.
        const copy = new Uint8Array(bytes);
        const job: ChunkJob = { id, bytes: copy, line, ...(planned ? {} : { plan }) };
        planned = true;
        worker.postMessage(job, [copy.buffer]);
      });
    },
    release() {
      released ??= (async () => {
        if (exited) return;
        const ended = new Promise<void>((resolveExit) => worker.once('exit', () => resolveExit()));
        worker.postMessage('close');
        // A thread that does not end (it never should) is stopped rather than waited for forever.
        const stuck = setTimeout(() => void worker.terminate(), 30_000);
        await ended;
        clearTimeout(stuck);
      })();
      return released;
    },
  };
}
