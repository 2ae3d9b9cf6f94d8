import type { Command } from 'commander';
import { gateForModel } from '../../application/access';
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
import { type ScheduledRetrainInput, trainToDeployInputSchema } from '../../contracts/inputs';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { addGateOptions, type GateFlags, gateSettingsFromFlags, parseDurationSeconds } from '../gateOptions';
import { printResult, table } from '../output';
import { openSession } from '../session';
import { addTrainingOptions } from '../trainingOptions';
import { UsageError } from '../usageError';

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
      'Create a schedule that retrains <model> from --source through the same gates as `slipway run`.',
    )
    .argument('<model>', 'registered model name')
    .requiredOption(
      '--source <uri>',
      'a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S',
    )
    .option('--cron <expr>', 'cron expression, e.g. "0 3 * * *" (03:00 UTC daily)')
    .option('--every <duration>', 'interval instead of cron, e.g. 6h, 30m, 1d')
    .option('--jitter <duration>', 'random delay added to each run, e.g. 5m')
    .option(
      '--catchup-window <duration>',
      'runs missed while the server was down are taken if within this (default 1h)',
      '1h',
    )
    .option('--id <scheduleId>', 'schedule ID (default retrain-<model>)')
    .option(
      '--retrain-on <when>',
      'data-change (default): whenever the source changed; drift: only when it changed and the newest batch ' +
        'production scored with `apply --monitor` drifted (the reason goes into the audit log)',
      'data-change',
    );
  addTrainingOptions(create).option('--paused', 'create it paused');
  addGateOptions(create).action(async (model: string, raw: Record<string, string | boolean | undefined>) => {
    if (Boolean(raw.cron) === Boolean(raw.every))
      throw new UsageError('Give exactly one of --cron "<expr>" or --every <duration>.');
    const scheduleId = (raw.id as string | undefined) ?? `retrain-${model}`;
    const epochs = raw.epochs === undefined ? referenceModelSpec.epochs : Number(raw.epochs); // parsed by numberOption
    const ws = openWorkspace();
    const gate = await gateForModel(ws, model, gateSettingsFromFlags(raw as GateFlags));
    const source = parseDatasetSource(raw.source as string);
    const features = (raw.features as string | undefined)?.split(',').map((f) => f.trim());
    await checkScheduledSource(ws, { source, target: raw.target as string, features });
    const pipeline = trainToDeployInputSchema.parse({
      source: source.uri,
      target: raw.target,
      features,
      modelName: model,
      spec: { ...referenceModelSpec, epochs },
      createdBy: `schedule:${scheduleId}`,
      gate,
      trainingTaskQueue: ws.config.trainingTaskQueue,
    });
    const retrainOn = raw.retrainOn as string;
    if (retrainOn !== 'data-change' && retrainOn !== 'drift')
      throw new UsageError(`--retrain-on "${retrainOn}" is not one of data-change, drift.`);
    const seconds = (v: unknown, flag: string) =>
      v ? parseDurationSeconds(String(v), flag) * 1000 : undefined;
    await withSchedules((temporal) =>
      createSchedule(temporal, {
        scheduleId,
        spec: {
          ...(raw.cron
            ? { cronExpressions: [String(raw.cron)] }
            : { intervals: [{ every: seconds(raw.every, '--every') as number }] }),
          ...(raw.jitter ? { jitter: seconds(raw.jitter, '--jitter') } : {}),
        },
        catchupWindowMs: seconds(raw.catchupWindow, '--catchup-window'),
        paused: Boolean(raw.paused),
        note: `retrain ${model} from ${pipeline.source}`,
        input: { scheduleId, retrainOn, pipeline } satisfies ScheduledRetrainInput,
        details: { model, cron: raw.cron, every: raw.every, review: gate.review?.required ?? false },
      }),
    );
    process.stdout.write(
      `Created ${scheduleId}: retrains ${model} ${raw.cron ? `on "${raw.cron}"` : `every ${raw.every}`}; ` +
        `${gate.review?.required ? `a blessed version waits for review by ${gate.review.approvers?.join(', ')}` : 'a blessed version is promoted automatically'}.\n`,
    );
  });

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
    .argument('<scheduleId>')
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
        const review = args?.pipeline.gate?.review;
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
      .argument('<scheduleId>')
      .action((scheduleId: string) =>
        withSchedules(async (temporal) => {
          const recorded = await changeSchedule(temporal, scheduleId, name satisfies ScheduleChange);
          process.stdout.write(`${scheduleId}: ${recorded}\n`);
        }),
      );
  }
}
