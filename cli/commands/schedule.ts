import type { Command } from 'commander';
import type { z } from 'zod';
import { gateForModel } from '../../application/access';
import { pipelineRunInput, readPipelineFile } from '../../application/pipelineFile';
import { describeCancellation, describeFailure } from '../../application/runs';
import {
  changeSchedule,
  checkScheduledSource,
  createSchedule,
  describeSchedule,
  listSchedules,
  type ScheduleChange,
} from '../../application/schedules';
import type { TemporalAccess } from '../../application/temporal';
import { openWorkspace } from '../../application/workspace';
import {
  type ScheduledRetrainInput,
  type trainAnomalyInputSchema,
  trainToDeployInputSchema,
} from '../../contracts/inputs';
import type { PipelineSchedule } from '../../contracts/pipelineFile';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import {
  addKindOptions,
  anomalyRunInput,
  checkCategoricalFlag,
  checkKindOptions,
  type KindFlags,
} from '../anomalyRun';
import { addGateOptions, type GateFlags, gateSettingsFromFlags, parseDurationSeconds } from '../gateOptions';
import { printResult, table } from '../output';
import { givenOnCommandLine, overridesFromFlags } from '../pipelineFileOptions';
import { openSession } from '../session';
import { addTrainingOptions } from '../trainingOptions';
import { UsageError } from '../usageError';

const SCHEDULE_ID_HELP =
  'the schedule ID (retrain-<model> unless created with --id); `slipway schedule list` shows them';

async function withSchedules<T>(body: (temporal: TemporalAccess) => Promise<T>): Promise<T> {
  const session = await openSession();
  // After openSession, which loads the Temporal client (the SDK is not loaded for `--help`).
  const { ScheduleNotFoundError } = await import('@temporalio/client');
  try {
    return await body(session);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new Error(`No schedule ${err.scheduleId}: \`slipway schedule list\` shows the ones that exist.`);
    }
    throw err;
  } finally {
    await session.close();
  }
}

export function registerScheduleCommand(program: Command): void {
  const schedule = program
    .command('schedule')
    .description(
      'Retrain on a schedule (Temporal Schedules): a run is skipped when its data has not changed.',
    );

  const create = schedule
    .command('create')
    .description(
      'Create a schedule that retrains <model> from --source (or as a pipeline file says) through the same gates ' +
        'as `slipway run`.',
    )
    .argument('[model]', "registered model name (required without -f; overrides the file's)")
    .option(
      '-f, --file <path>',
      'a pipeline file (slipway.yaml): the run and, in its schedule section, when; flags override it',
    )
    .option(
      '--source <uri>',
      'a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S (required without -f)',
    )
    .option('--cron <expr>', 'cron expression, e.g. "0 3 * * *" (03:00 UTC daily)')
    .option('--every <duration>', 'interval instead of cron, e.g. 6h, 30m, 1d')
    .option('--jitter <duration>', 'random delay added to each run, e.g. 5m')
    .option(
      '--catchup-window <duration>',
      'runs missed while the server was down are taken if within this',
      '1h',
    )
    .option('--id <scheduleId>', 'schedule ID (default retrain-<model>)')
    .option(
      '--retrain-on <when>',
      'data-change: whenever the source changed; drift: only when it changed and the newest batch ' +
        'production scored with `apply --monitor` drifted (the reason goes into the audit log)',
      'data-change',
    );
  addKindOptions(addTrainingOptions(create)).option('--paused', 'create it paused');
  addGateOptions(create).action(
    async (modelArg: string | undefined, raw: Record<string, string | boolean | undefined>, cmd: Command) => {
      // A bad file is refused before any connection is made.
      const loaded = raw.file ? readPipelineFile(String(raw.file)) : undefined;
      const timing = scheduleTiming(cmd, raw, loaded?.pipeline.schedule);
      const model = modelArg ?? loaded?.pipeline.model;
      if (model === undefined) throw new UsageError('Give the model to retrain, or -f <pipeline file>.');
      if (!loaded && !raw.source) throw new UsageError('Give --source <uri>, or -f <pipeline file>.');
      const kind = checkKindOptions(raw as KindFlags);
      if (kind === 'anomaly' && loaded) {
        throw new UsageError(
          'a pipeline file describes a classifier run; schedule an anomaly run with flags (--kind anomaly) instead of -f',
        );
      }
      const scheduleId = timing.id ?? `retrain-${model}`;
      const ws = openWorkspace();
      const createdBy = `schedule:${scheduleId}`;
      let run:
        | { pipeline: z.output<typeof trainToDeployInputSchema> }
        | { anomaly: z.output<typeof trainAnomalyInputSchema> };
      if (kind === 'anomaly') {
        const gate = await gateForModel(ws, model, gateSettingsFromFlags(raw as GateFlags));
        const anomaly = anomalyRunInput(
          {
            source: raw.source as string,
            model,
            features: raw.features as string | undefined,
            categorical: raw.categorical as string | undefined,
            evalLabel: raw.evalLabel as string | undefined,
            contamination: raw.contamination as number | undefined,
            epochs: raw.epochs as number | undefined,
          },
          createdBy,
          gate,
        );
        // The header check needs a label column; an unlabelled source's columns are checked by its
        // first run's extraction, which names a missing feature the same way.
        if (anomaly.evalLabel !== undefined) {
          await checkScheduledSource(ws, {
            source: parseDatasetSource(anomaly.source),
            target: anomaly.evalLabel,
            features: anomaly.features,
          });
        }
        run = { anomaly };
      } else if (loaded) {
        const overrides = overridesFromFlags(cmd, raw, loaded);
        const gate = await gateForModel(ws, model, overrides.gate);
        const pipeline = trainToDeployInputSchema.parse({
          ...pipelineRunInput(loaded, { ...overrides, modelName: model, gate }, createdBy),
          trainingTaskQueue: ws.config.trainingTaskQueue,
        });
        run = { pipeline };
      } else {
        const epochs = raw.epochs === undefined ? referenceModelSpec.epochs : Number(raw.epochs); // parsed by numberOption
        const gate = await gateForModel(ws, model, gateSettingsFromFlags(raw as GateFlags));
        const pipeline = trainToDeployInputSchema.parse({
          source: parseDatasetSource(raw.source as string).uri,
          target: raw.target,
          features: (raw.features as string | undefined)?.split(',').map((f) => f.trim()),
          categorical: (raw.categorical as string | undefined)?.split(',').map((f) => f.trim()),
          modelName: model,
          spec: { ...referenceModelSpec, epochs },
          createdBy,
          gate,
          trainingTaskQueue: ws.config.trainingTaskQueue,
        });
        checkCategoricalFlag(pipeline);
        run = { pipeline };
      }
      if ('pipeline' in run) {
        await checkScheduledSource(ws, {
          source: parseDatasetSource(run.pipeline.source),
          target: run.pipeline.target,
          features: run.pipeline.features,
        });
      }
      const { gate, source } = 'pipeline' in run ? run.pipeline : run.anomaly;
      const pipelineFile = 'pipeline' in run ? run.pipeline.pipelineFile : undefined;
      const retrainOn = raw.retrainOn as string;
      if (retrainOn !== 'data-change' && retrainOn !== 'drift')
        throw new UsageError(`--retrain-on "${retrainOn}" is not one of data-change, drift.`);
      await withSchedules((temporal) =>
        createSchedule(temporal, {
          scheduleId,
          spec: {
            ...(timing.cron
              ? { cronExpressions: [timing.cron] }
              : { intervals: [{ every: timing.everyMs as number }] }),
            ...(timing.jitterMs ? { jitter: timing.jitterMs } : {}),
          },
          catchupWindowMs: timing.catchupWindowMs,
          paused: timing.paused,
          note: `retrain ${model}${kind === 'anomaly' ? ' (anomaly)' : ''} from ${source}`,
          input: { scheduleId, retrainOn, ...run } satisfies ScheduledRetrainInput,
          details: {
            model,
            cron: timing.cron,
            every: timing.every,
            review: gate.review?.required ?? false,
            ...(kind === 'anomaly' ? { kind } : {}),
            ...(pipelineFile
              ? { pipelineFile: { path: pipelineFile.path, sha256: pipelineFile.sha256 } }
              : {}),
          },
        }),
      );
      process.stdout.write(
        `Created ${scheduleId}: retrains ${model} ${timing.cron ? `on "${timing.cron}"` : `every ${timing.every}`}; ` +
          `${gate.review?.required ? `a blessed version waits for review by ${gate.review.approvers?.join(', ')}` : 'a blessed version is promoted automatically'}.\n`,
      );
    },
  );

  schedule
    .command('list')
    .description('List schedules.')
    .option('--json', 'print one JSON object on stdout')
    .action((opts: { json?: boolean }) =>
      withSchedules(async (temporal) => {
        const schedules = await listSchedules(temporal);
        printResult(opts, { schedules }, () =>
          schedules.length === 0
            ? 'No schedules: `slipway schedule create <model> --every 1d --source ...` makes one.'
            : table(
                ['schedule', 'state', 'next run', 'what'],
                schedules.map((s) => [
                  s.scheduleId,
                  s.paused ? 'paused' : 'active',
                  s.next ?? '-',
                  s.note ?? '',
                ]),
              ),
        );
      }),
    );

  schedule
    .command('describe')
    .description(
      'Show a schedule: its spec, whether it waits for review, recent runs with their outcome, the next run.',
    )
    .argument('<scheduleId>', SCHEDULE_ID_HELP)
    .option('--json', 'print one JSON object on stdout')
    .action((scheduleId: string, opts: { json?: boolean }) =>
      withSchedules(async (temporal) => {
        const { description: d, input: args, recent: runs } = await describeSchedule(temporal, scheduleId);
        const recent = runs.map(({ at, view, result: r }) => {
          const outcome = view.outcome === 'blocked' ? 'blocked by the gate' : view.outcome;
          const detail = view.failure
            ? describeFailure(view.failure)
            : view.cancellation
              ? describeCancellation(view.cancellation)
              : r?.version
                ? `v${r.version}`
                : (r?.reason ?? '');
          return {
            at,
            workflowId: view.workflowId,
            outcome,
            detail,
            ...(view.failure ? { failure: view.failure } : {}),
            ...(view.cancellation ? { cancellation: view.cancellation } : {}),
          };
        });
        const review = (args?.pipeline ?? args?.anomaly)?.gate?.review;
        const out = {
          scheduleId,
          paused: d.state.paused,
          note: d.state.note,
          spec: d.spec,
          review: review?.required ? { approvers: review.approvers } : 'promoted automatically when blessed',
          next: d.info.nextActionTimes.map((t) => t.toISOString()),
          recent,
        };
        printResult(opts, out, () =>
          [
            `${scheduleId}: ${d.state.paused ? 'paused' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
            `  blessed versions: ${review?.required ? `wait for review by ${review.approvers?.join(', ')}` : 'promoted automatically'}`,
            `  next run: ${out.next[0] ?? '-'}`,
            '',
            recent.length === 0
              ? 'No runs yet.'
              : table(
                  ['taken at', 'workflow', 'outcome', ''],
                  recent.map((r) => [
                    r.at,
                    r.workflowId,
                    r.outcome,
                    r.failure
                      ? `${r.failure.type}${r.failure.step ? ` in ${r.failure.step}` : ''}`
                      : r.detail,
                  ]),
                ),
            // The whole cause of each failed run, below the table: messages are long.
            ...recent.flatMap((r) => (r.failure ? [`\n${r.workflowId} failed: ${r.detail}`] : [])),
          ].join('\n'),
        );
      }),
    );

  for (const [name, description] of [
    ['pause', 'Pause a schedule (no runs until unpaused).'],
    ['unpause', 'Resume a paused schedule.'],
    ['trigger', 'Run a schedule now, once.'],
    ['delete', 'Delete a schedule (its past runs stay in Temporal and the registry).'],
  ] as const) {
    schedule
      .command(name)
      .description(description)
      .argument('<scheduleId>', SCHEDULE_ID_HELP)
      .action((scheduleId: string) =>
        withSchedules(async (temporal) => {
          const recorded = await changeSchedule(temporal, scheduleId, name satisfies ScheduleChange);
          process.stdout.write(`${scheduleId}: ${recorded}\n`);
        }),
      );
  }
}

/**
 * When a schedule runs: the flags typed on the command line, else the pipeline file's schedule
 * section; exactly one of a cron expression or an interval.
 */
function scheduleTiming(
  cmd: Command,
  raw: Record<string, string | boolean | undefined>,
  file: PipelineSchedule | undefined,
) {
  const typed = (name: string) =>
    givenOnCommandLine(cmd, name) ? (raw[name] as string | undefined) : undefined;
  const fromFlags = typed('cron') !== undefined || typed('every') !== undefined;
  const cron = fromFlags ? typed('cron') : file?.cron;
  const every = fromFlags ? typed('every') : file?.every;
  if (Boolean(cron) === Boolean(every)) {
    throw new UsageError(
      'Give exactly one of --cron "<expr>" or --every <duration> (or a schedule section in the pipeline file).',
    );
  }
  const ms = (value: string | undefined, flag: string) =>
    value ? parseDurationSeconds(value, flag) * 1000 : undefined;
  return {
    id: typed('id') ?? file?.id,
    cron,
    every,
    everyMs: ms(every, '--every'),
    jitterMs: ms(typed('jitter') ?? file?.jitter, '--jitter'),
    catchupWindowMs: ms(typed('catchupWindow') ?? file?.catchupWindow ?? '1h', '--catchup-window'),
    paused: givenOnCommandLine(cmd, 'paused') ? Boolean(raw.paused) : (file?.paused ?? false),
  };
}
