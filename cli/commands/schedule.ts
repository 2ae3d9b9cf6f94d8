import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig } from '../../config/env';
import { ModelAccess } from '../../domain/access/modelAccess';
import { AuditLog } from '../../domain/audit/auditLog';
import { checkSourceHeader } from '../../domain/data/sourceHeader';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import { DEFAULT_TARGET_COLUMN } from '../../domain/data/targetColumn';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import { s3SettingsFromConfig } from '../../domain/storage/s3Client';
import { trainToDeployInputSchema } from '../../workflows/inputs';
import type { ScheduledRetrainInput, ScheduledRetrainResult } from '../../workflows/scheduledRetrain';
import {
  addGateOptions,
  type GateFlags,
  gateSettingsFromFlags,
  parseDurationSeconds,
  withNamespaceApprovers,
} from '../gateOptions';
import { numberOption } from '../numberOption';
import { printResult, table } from '../output';
import { describeCancellation, describeFailure, runView } from '../runStatus';
import { openSession } from '../session';
import { UsageError } from '../usageError';

async function withSchedules<T>(body: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
  const session = await openSession();
  // After openSession, which loads the Temporal client (the SDK is not loaded for `--help`).
  const { ScheduleNotFoundError } = await import('@temporalio/client');
  try {
    return await body(session.client, session.config.taskQueue);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new Error(`No schedule ${err.scheduleId}: \`slipway schedule list\` shows the ones that exist.`);
    }
    throw err;
  } finally {
    await session.close();
  }
}

/** Schedule changes go into the audit log like every other decision about a model. */
async function auditScheduleChange(
  scheduleId: string,
  change: string,
  details: Record<string, unknown> = {},
) {
  const config = loadConfig();
  await new AuditLog(openArtifactStore(config)).append({
    type: 'schedule-change',
    actor: config.identity,
    reason: change,
    at: new Date().toISOString(),
    details: { scheduleId, change, ...details },
  });
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
    .option('--target <column>', 'the 0/1 label column', DEFAULT_TARGET_COLUMN)
    .option('--features <list>', 'comma-separated feature columns in order (default: all but the target)')
    .option(
      '--epochs <n>',
      'training epochs (default 50)',
      numberOption('--epochs', { integer: true, min: 1, max: 10_000 }),
    )
    .option('--paused', 'create it paused');
  addGateOptions(create).action(async (model: string, raw: Record<string, string | boolean | undefined>) => {
    if (Boolean(raw.cron) === Boolean(raw.every))
      throw new UsageError('Give exactly one of --cron "<expr>" or --every <duration>.');
    const scheduleId = (raw.id as string | undefined) ?? `retrain-${model}`;
    const epochs = raw.epochs === undefined ? referenceModelSpec.epochs : Number(raw.epochs); // parsed by numberOption
    const config = loadConfig();
    const access = new ModelAccess(new ModelRegistry(openArtifactStore(config)));
    const gate = await withNamespaceApprovers(access, model, gateSettingsFromFlags(raw as GateFlags));
    const source = parseDatasetSource(raw.source as string);
    const features = (raw.features as string | undefined)?.split(',').map((f) => f.trim());
    // Every run would fail on a wrong column: refuse it now, with the message extraction gives.
    await checkSourceHeader({
      source,
      target: raw.target as string,
      features,
      s3: config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(config) : undefined,
    });
    const pipeline = trainToDeployInputSchema.parse({
      source: source.uri,
      target: raw.target,
      features,
      modelName: model,
      spec: { ...referenceModelSpec, epochs },
      createdBy: `schedule:${scheduleId}`,
      gate,
      trainingTaskQueue: loadConfig().trainingTaskQueue,
    });
    const seconds = (v: unknown, flag: string) =>
      v ? parseDurationSeconds(String(v), flag) * 1000 : undefined;
    await withSchedules(async (client, taskQueue) => {
      await client.schedule.create({
        scheduleId,
        spec: {
          ...(raw.cron
            ? { cronExpressions: [String(raw.cron)] }
            : { intervals: [{ every: seconds(raw.every, '--every') as number }] }),
          ...(raw.jitter ? { jitter: seconds(raw.jitter, '--jitter') } : {}),
        },
        action: {
          type: 'startWorkflow',
          workflowType: 'scheduledRetrain',
          taskQueue,
          workflowId: `${scheduleId}-run`,
          args: [{ scheduleId, pipeline } satisfies ScheduledRetrainInput],
        },
        policies: {
          overlap: (await import('@temporalio/client')).ScheduleOverlapPolicy.SKIP,
          catchupWindow: seconds(raw.catchupWindow, '--catchup-window'),
        },
        state: { paused: Boolean(raw.paused), note: `retrain ${model} from ${pipeline.source}` },
      });
    });
    await auditScheduleChange(scheduleId, 'created', {
      model,
      cron: raw.cron,
      every: raw.every,
      review: gate.review?.required ?? false,
    });
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
      withSchedules(async (client) => {
        const schedules: Array<{ scheduleId: string; paused: boolean; next?: string; note?: string }> = [];
        for await (const s of client.schedule.list()) {
          schedules.push({
            scheduleId: s.scheduleId,
            paused: s.state.paused,
            next: s.info.nextActionTimes[0]?.toISOString(),
            note: s.state.note,
          });
        }
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
      withSchedules(async (client) => {
        const d = await client.schedule.getHandle(scheduleId).describe();
        const args = (d.action as { args?: ScheduledRetrainInput[] }).args?.[0];
        const recent = await Promise.all(
          d.info.recentActions.map(async (a) => {
            const view = await runView(
              client,
              a.action.workflow.workflowId,
              a.action.workflow.firstExecutionRunId,
            );
            const r = view.result as ScheduledRetrainResult | undefined;
            const outcome = view.outcome === 'blocked' ? 'blocked by the gate' : view.outcome;
            const detail = view.failure
              ? describeFailure(view.failure)
              : view.cancellation
                ? describeCancellation(view.cancellation)
                : r?.version
                  ? `v${r.version}`
                  : (r?.reason ?? '');
            return {
              at: a.takenAt.toISOString(),
              workflowId: a.action.workflow.workflowId,
              outcome,
              detail,
              ...(view.failure ? { failure: view.failure } : {}),
              ...(view.cancellation ? { cancellation: view.cancellation } : {}),
            };
          }),
        );
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
        withSchedules(async (client) => {
          const handle = client.schedule.getHandle(scheduleId);
          if (name === 'pause') await handle.pause(`paused by ${loadConfig().identity}`);
          else if (name === 'unpause') await handle.unpause(`unpaused by ${loadConfig().identity}`);
          else if (name === 'trigger')
            await handle.trigger((await import('@temporalio/client')).ScheduleOverlapPolicy.ALLOW_ALL);
          else await handle.delete();
          await auditScheduleChange(scheduleId, name === 'trigger' ? 'triggered' : `${name}d`);
          process.stdout.write(`${scheduleId}: ${name === 'trigger' ? 'triggered' : `${name}d`}\n`);
        }),
      );
  }
}
