import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { REPO_ROOT } from '../../config/repoRoot';
import type { BinaryScorer } from './binaryScorer';
import { positiveClass } from './positiveClass';

interface Reply {
  id: number;
  data?: Float32Array;
  dims?: readonly number[];
  error?: string;
}

/**
 * A BinaryScorer whose model runs on a worker thread: onnxruntime-node's session.run computes on
 * the calling thread (its promise only defers the call), so scoring on the main thread would stop
 * reading and writing for as long as the model runs. With the model on its own thread, a batch
 * is scored while the next one is read, and the slower of the two sets the pace.
 *
 * `checked` is the same model opened on the calling thread by openBinaryScorer, which has
 * checked it and picked its input and output (with its errors); the thread uses those names.
 */
export function openThreadedScorer(
  onnx: Uint8Array,
  nFeatures: number,
  checked: Pick<BinaryScorer, 'inputName' | 'outputName'>,
  options: { intraOpThreads?: number } = {},
): BinaryScorer {
  const { inputName } = checked;
  const output = checked.outputName;
  // From the repository, not __dirname: the compiled CLI runs from dist/, which holds only the
  // compiled TypeScript, and this worker is plain JavaScript kept beside its source.
  const worker = new Worker(join(REPO_ROOT, 'domain', 'scoring', 'scoringWorker.cjs'), {
    workerData: { onnx, inputName, outputName: output, intraOpThreads: options.intraOpThreads },
    // The worker is plain JavaScript: no TypeScript loader to start.
    execArgv: [],
  });
  const waiting = new Map<number, { resolve(reply: Reply): void; reject(error: Error): void }>();
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: Reply) => {
    const w = waiting.get(reply.id);
    waiting.delete(reply.id);
    w?.resolve(reply);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the scoring thread stopped (exit code ${code})`)));
  let next = 0;
  return {
    inputName,
    outputName: output,
    async score(x, nRows) {
      if (failure) throw failure;
      const id = next++;
      const reply = await new Promise<Reply>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, x: x.subarray(0, nRows * nFeatures), rows: nRows, features: nFeatures });
      });
      if (reply.error !== undefined) throw new Error(`onnxruntime failed to score a batch: ${reply.error}`);
      return positiveClass(reply.data as Float32Array, reply.dims ?? [], nRows, output);
    },
    async release() {
      failure ??= new Error('the scorer was released');
      await worker.terminate();
    },
  };
}
