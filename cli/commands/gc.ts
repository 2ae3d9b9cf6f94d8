import type { Command } from 'commander';
import type { GarbageCollectionResult } from '../../activities/gc';
import { collectGarbageNow, scheduleGarbageCollection } from '../../application/gc';
import { parseAge } from '../../domain/gc/plan';
import { parseNumberOption } from '../numberOption';
import { keyValueTable, printResult } from '../output';
import { openSession } from '../session';
import { UsageError } from '../usageError';

interface GcOptions {
  keepLast: string;
  olderThan: string;
  cacheTtl: string;
  dryRun?: boolean;
  every?: string;
  scheduleId: string;
  json?: boolean;
}

/**
 * `slipway gc`: deletes the stored objects nothing needs (rules in domain/gc/plan.ts and the
 * README's "Retention"), each deletion recorded in the audit log; `--dry-run` lists them instead;
 * `--every` puts the same on a Temporal schedule.
 */
export function registerGcCommand(program: Command): void {
  program
    .command('gc')
    .description(
      'Delete stored objects no version, alias, audit record, live cache entry or running run needs (audited); --dry-run lists them.',
    )
    .option('--older-than <age>', 'delete an unneeded object only once it is this old (30m, 12h, 7d)', '1d')
    .option('--keep-last <n>', 'also keep everything the newest n finished runs read or wrote', '0')
    .option('--cache-ttl <age>', 'keep step-cache entries this long after they were recorded', '7d')
    .option('--dry-run', 'list what would be deleted; delete and record nothing')
    .option('--every <age>', 'instead of running now, create a schedule that runs gc this often')
    .option('--schedule-id <id>', 'the schedule --every creates', 'slipway-gc')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: GcOptions) => {
      const input = {
        olderThanMs: ageOption(opts.olderThan, '--older-than'),
        cacheTtlMs: ageOption(opts.cacheTtl, '--cache-ttl'),
        keepLast: parseNumberOption(opts.keepLast, '--keep-last', { integer: true, min: 0 }),
        dryRun: opts.dryRun === true,
      };
      const session = await openSession();
      try {
        const actor = session.config.identity;
        if (opts.every !== undefined) {
          const everyMs = ageOption(opts.every, '--every');
          if (everyMs < 60_000) throw new UsageError(`--every must be at least 1m, got ${opts.every}`);
          if (input.dryRun)
            throw new UsageError('--dry-run and --every do not go together: a schedule deletes.');
          await scheduleGarbageCollection(session, {
            scheduleId: opts.scheduleId,
            everyMs,
            input: { ...input, actor },
          });
          printResult(opts, { scheduleId: opts.scheduleId, everyMs }, () => {
            return `Created schedule ${opts.scheduleId}: gc every ${opts.every} (\`slipway schedule describe ${opts.scheduleId}\`).`;
          });
          return;
        }
        const result = await collectGarbageNow(session, { ...input, actor });
        printResult(opts, result, () => formatGcResult(result));
      } finally {
        await session.close();
      }
    });
}

function ageOption(text: string, flag: string): number {
  const ms = parseAge(text);
  if (ms === undefined)
    throw new UsageError(`${flag} takes an age such as 90s, 30m, 12h, 7d or 2w, got ${JSON.stringify(text)}`);
  return ms;
}

function formatGcResult(result: GarbageCollectionResult): string {
  const verb = result.dryRun ? 'would delete' : 'deleted';
  const lines = result.objects.map((o) => `  ${o.key}  ${o.bytes} bytes`);
  if (result.objectCount > result.objects.length)
    lines.push(`  ... and ${result.objectCount - result.objects.length} more (see the audit log)`);
  for (const key of result.cacheEntries) lines.push(`  ${key}  (cache entry past its TTL)`);
  for (const v of result.versions ?? [])
    lines.push(`  ${v.key}  version ${v.versionId}  ${v.bytes} bytes (older version)`);
  if ((result.versionCount ?? 0) > (result.versions?.length ?? 0))
    lines.push(
      `  ... and ${(result.versionCount ?? 0) - (result.versions?.length ?? 0)} more older versions`,
    );
  const kept = Object.entries(result.kept)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  return [
    `gc ${verb} ${result.objectCount} objects (${result.bytesFreed} bytes)` +
      (result.versionCount
        ? `, ${result.versionCount} older versions of kept objects (${result.versionBytesFreed} bytes; a versioned bucket)`
        : '') +
      ` and ${result.cacheEntries.length} cache entries.`,
    ...lines,
    keyValueTable([
      ['kept', kept || 'nothing'],
      ['kept if written after', result.cutoff],
      ['running runs', result.runningRuns],
      ['audit records', result.auditSeqs.length === 0 ? '-' : result.auditSeqs.join(', ')],
    ]),
  ].join('\n');
}
