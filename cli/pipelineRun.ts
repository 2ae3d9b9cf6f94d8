import { randomUUID } from 'node:crypto';
import { MultiBar, Presets } from 'cli-progress';
import type { TrainToDeployInput } from '../workflows/inputs';
import {
  type PipelineProgress,
  type PipelineResult,
  progressQuery,
  type TrainingEpoch,
} from '../workflows/trainToDeploy';
import { keyValueTable, table } from './output';
import type { Session } from './session';

/**
 * Starts trainToDeploy and waits for it. With `live`, shows the steps and a progress bar over
 * epochs on stderr while it runs (stdout stays clean for --json).
 */
export async function runPipeline(
  session: Session,
  input: TrainToDeployInput,
  options: { live: boolean; workflowIdPrefix?: string },
): Promise<PipelineResult> {
  const workflowId = `${options.workflowIdPrefix ?? 'train'}-${input.modelName}-${randomUUID().slice(0, 8)}`;
  const handle = await session.client.workflow.start('trainToDeploy', {
    taskQueue: session.config.taskQueue,
    workflowId,
    args: [{ ...input, trainingTaskQueue: session.config.trainingTaskQueue }],
  });
  process.stderr.write(`slipway: started ${workflowId}\n`);
  if (!options.live || !process.stderr.isTTY) {
    return (await handle.result()) as PipelineResult;
  }
  const bars = new MultiBar(
    {
      format: ' {step} [{bar}] {value}/{total} {detail}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const stepsBar = bars.create(6, 0, { step: 'steps ', detail: '' });
  const epochBar = bars.create(input.spec?.epochs ?? 50, 0, { step: 'epochs', detail: '' });
  let done = false;
  const poll = (async () => {
    while (!done) {
      try {
        const progress: PipelineProgress = await handle.query(progressQuery);
        stepsBar.update(progress.steps.filter((s) => s.status === 'done').length, {
          detail: progress.current ?? '',
        });
        const last = progress.training.epochs.at(-1);
        if (last) epochBar.update(last.epoch, { detail: describeEpoch(last) });
      } catch {
        // the workflow may finish between two polls
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  try {
    const result = (await handle.result()) as PipelineResult;
    stepsBar.update(6, { detail: 'done' });
    epochBar.setTotal(result.epochsRun);
    epochBar.update(result.epochsRun);
    return result;
  } finally {
    done = true;
    await poll;
    bars.stop();
  }
}

/** One line about an epoch: training loss and the held-out figures people watch. */
export function describeEpoch(e: TrainingEpoch): string {
  const parts = [`loss ${e.loss.toExponential(3)}`];
  if (e.valLoss !== undefined) parts.push(`val loss ${e.valLoss.toExponential(3)}`);
  if (e.valRecall !== undefined) parts.push(`recall ${e.valRecall.toFixed(3)}`);
  if (e.valFpr !== undefined) parts.push(`FPR ${(100 * e.valFpr).toFixed(2)} %`);
  parts.push(`${Math.round(e.samplesPerSecond)} samples/s`);
  return parts.join(', ');
}

/** The JSON a script gets from `demo --json` and `run --json`. */
export function pipelineJson(result: PipelineResult) {
  const { tp, fp, tn, fn, precision, recall, fpr, f1, rocAuc, prAuc } = result.metrics;
  return {
    workflowId: result.workflowId,
    runId: result.runId,
    model: result.model,
    version: result.version,
    backend: result.backend,
    epochsRun: result.epochsRun,
    metrics: { tp, fp, tn, fn, precision, recall, fpr, f1, rocAuc, prAuc },
    onnx: {
      uri: result.onnx.onnx.uri,
      sha256: result.onnx.onnx.sha256,
      bytes: result.onnx.size.bytes,
      base64Bytes: result.onnx.size.base64Bytes,
      maxAbsDiff: result.onnx.parity.maxAbsDiff,
    },
    dataset: {
      uri: result.dataset.snapshot.uri,
      sha256: result.dataset.snapshot.sha256,
      rows: result.dataset.rows,
    },
    steps: result.steps.map((s) => ({
      step: s.step,
      status: s.status,
      seconds: (s.durationMs ?? 0) / 1000,
      cache: s.cache,
    })),
  };
}

export function describePipeline(result: PipelineResult): string {
  const m = result.metrics;
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
  return [
    `Registered ${result.model} version ${result.version} (workflow ${result.workflowId})`,
    '',
    stepsTable(result.steps),
    '',
    keyValueTable([
      [
        'rows',
        `${result.dataset.rows} (${result.prepared.trainRows} train, ${result.prepared.testRows} held out)`,
      ],
      ['backend', result.backend],
      [
        'epochs',
        `${result.epochsRun}${result.resumedFromEpoch ? ` (resumed after epoch ${result.resumedFromEpoch})` : ''}`,
      ],
      ['confusion', `TP ${m.tp}  FP ${m.fp}  TN ${m.tn}  FN ${m.fn}`],
      ['precision', m.precision.toFixed(3)],
      ['recall', m.recall.toFixed(3)],
      ['false-positive rate', pct(m.fpr)],
      ['ROC-AUC / PR-AUC', `${m.rocAuc.toFixed(4)} / ${m.prAuc.toFixed(4)}`],
      ['ONNX', `${result.onnx.onnx.uri}`],
      [
        'ONNX size',
        `${result.onnx.size.bytes} bytes, ${result.onnx.size.base64Bytes} after base64 (limit ${result.onnx.size.limitBytes})`,
      ],
      [
        'ONNX parity',
        `max |difference| ${result.onnx.parity.maxAbsDiff.toExponential(2)} over ${result.onnx.parity.rowsCompared} rows`,
      ],
    ]),
  ].join('\n');
}

/** The step list as a table: status, duration and whether the outputs came from the cache. */
export function stepsTable(steps: PipelineProgress['steps']): string {
  return table(
    ['step', 'status', 'seconds', 'cache'],
    steps.map((s) => [
      s.step,
      s.status,
      s.durationMs === undefined ? '' : (s.durationMs / 1000).toFixed(1),
      s.cache === 'hit' ? 'reused' : (s.cache ?? ''),
    ]),
  );
}
