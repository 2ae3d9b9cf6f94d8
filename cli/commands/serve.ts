import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RefusalRecord, ServeTarget, ServingEvent } from '../../application/serving';
import { openWorkspace } from '../../application/workspace';
import { DEFAULT_LIMITS } from '../../domain/serving/limits';
import { DEFAULT_MONITOR_ROWS, DEFAULT_MONITOR_SECONDS } from '../../domain/serving/monitorBuffer';
import { parseNumberOption } from '../numberOption';
import { log, printResult } from '../output';
import type { Session } from '../session';
import { UsageError } from '../usageError';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve registered models over HTTP: POST JSON rows (objects by feature name or arrays in feature order) or a ' +
        'CSV to /score (/score/<model> when several are served) and get back the columns apply adds, with the ' +
        'version that answered. <model>@<alias> follows the alias: when it moves, the new version is loaded, ' +
        'warmed and checked against its recorded network, then swapped in without dropping a request; a version ' +
        'that fails its check is refused (audited) and the old one keeps answering. Also GET /healthz, /readyz, ' +
        '/metrics (Prometheus) and /models. SIGTERM or Ctrl-C drains the requests in flight, then exits.',
    )
    .argument('<models...>', '<model>@<alias> (followed), <model>@<version> (pinned) or <model> (production)')
    .option('--port <n>', 'port to listen on (0: any free port)', '4700')
    .option(
      '--host <address>',
      'address to listen on; keep the loopback default unless others must reach it',
      '127.0.0.1',
    )
    .option(
      '--poll <seconds>',
      'how often a followed alias is read (moves by Slipway reach the service at once; the poll catches the others)',
      '1',
    )
    .option(
      '--advertise-url <url>',
      'where alias moves reach this service, registered in the store (default: the address it listens on)',
    )
    .option('--max-rows <n>', 'most rows in one request', String(DEFAULT_LIMITS.maxRows))
    .option('--max-body-bytes <n>', 'largest request body', String(DEFAULT_LIMITS.maxBodyBytes))
    .option('--drain-timeout <seconds>', 'how long a shutdown waits for requests in flight', '30')
    .option('--request-log', 'print one JSON line per scoring request on stdout')
    .option(
      '--canary <alias>:<percent>',
      'answer this share of requests with the version behind another alias of each model (followed and checked like the ' +
        'answering one): by a hash of the Slipway-Request-Key header when sent (one key, one version), else every n-th request',
    )
    .option(
      '--shadow <alias>',
      'also score every request with the version behind this alias of each model (followed like the answering one), without returning it; one comparison per request goes to --shadow-log',
    )
    .option(
      '--shadow-log <file>',
      'where the shadow comparisons are appended, one JSON line each (read by serve-report)',
      'serve-shadow.jsonl',
    )
    .option(
      '--monitor',
      'record what the answering versions score as monitored batches (as apply --monitor; slipway monitor shows them): ' +
        'one per version every --monitor-rows rows or --monitor-seconds seconds, and the rest on shutdown',
    )
    .option('--monitor-rows <n>', 'rows per monitored batch', String(DEFAULT_MONITOR_ROWS))
    .option(
      '--monitor-seconds <s>',
      'longest a row waits for its monitored batch',
      String(DEFAULT_MONITOR_SECONDS),
    )
    .addHelpText(
      'after',
      '\nSLIPWAY_SERVE_TOKEN=<token> makes every request but /healthz, /readyz and /metrics carry ' +
        '"Authorization: Bearer <token>".\n\nExamples:\n  slipway serve card-fraud@production\n' +
        '  slipway serve card-fraud@production secops/botnet@staging --port 8080 --host 0.0.0.0\n' +
        '  curl -s localhost:4700/score -H content-type:application/json -d \'{"rows":[{"V1":0.1, ...}]}\'\n' +
        "  curl -s 'localhost:4700/score?explain=3' -H content-type:text/csv --data-binary @new.csv  (apply --explain 3's columns)\n" +
        '  curl -s localhost:4700/score -H content-type:text/csv --data-binary @new.csv',
    )
    .action(
      async (
        refs: string[],
        opts: {
          port: string;
          host: string;
          poll: string;
          advertiseUrl?: string;
          maxRows: string;
          maxBodyBytes: string;
          drainTimeout: string;
          requestLog?: boolean;
          shadow?: string;
          shadowLog: string;
          canary?: string;
          monitor?: boolean;
          monitorRows: string;
          monitorSeconds: string;
        },
      ) => {
        const port = parseNumberOption(opts.port, '--port', { integer: true, min: 0, max: 65535 });
        const pollMs = parseNumberOption(opts.poll, '--poll', { min: 0.05, max: 3600 }) * 1000;
        const drainMs = parseNumberOption(opts.drainTimeout, '--drain-timeout', { min: 0 }) * 1000;
        const limits = {
          maxRows: parseNumberOption(opts.maxRows, '--max-rows', { integer: true, min: 1 }),
          maxBodyBytes: parseNumberOption(opts.maxBodyBytes, '--max-body-bytes', { integer: true, min: 1 }),
        };
        const monitor = opts.monitor
          ? {
              rows: parseNumberOption(opts.monitorRows, '--monitor-rows', { integer: true, min: 2 }),
              seconds: parseNumberOption(opts.monitorSeconds, '--monitor-seconds', { min: 1 }),
            }
          : undefined;
        const targets = refs.map(parseTarget);
        const canary = opts.canary === undefined ? undefined : parseCanary(opts.canary);
        const names = targets.map((t) => t.model);
        const repeated = names.find((n, i) => names.indexOf(n) !== i);
        if (repeated !== undefined)
          throw new UsageError(`${repeated} is named twice; serve each model once.`);
        const ws = openWorkspace();
        // Loaded by this command only: the service and onnxruntime.
        const { startServing } = await import('../../application/serving.js');
        let session: Session | undefined;
        const recordRefusal = async (record: RefusalRecord) => {
          // Temporal only when there is something to audit: the audit log is written by a worker.
          const { openSession } = await import('../session.js');
          const { auditChange } = await import('../../application/changes.js');
          session ??= await openSession();
          await auditChange({ client: session.client, config: session.config }, record);
        };
        // Appended to, so a restarted service adds to the comparisons it had made.
        const shadowLog =
          opts.shadow === undefined ? undefined : createWriteStream(resolve(opts.shadowLog), { flags: 'a' });
        const service = await startServing(ws, targets, {
          shadowAlias: opts.shadow,
          canary,
          monitor,
          onShadow: shadowLog ? (r) => shadowLog.write(`${JSON.stringify(r)}\n`) : undefined,
          host: opts.host,
          port,
          pollMs,
          ...(opts.advertiseUrl ? { advertiseUrl: opts.advertiseUrl.replace(/\/+$/, '') } : {}),
          limits,
          token: ws.config.env.SLIPWAY_SERVE_TOKEN,
          onEvent: (event) => log(describeEvent(event)),
          onRequest: opts.requestLog ? (r) => process.stdout.write(`${JSON.stringify(r)}\n`) : undefined,
          recordRefusal,
        });
        const served = service.models.map((m) => `${m.model}${m.alias ? `@${m.alias}` : ''} v${m.version}`);
        process.stdout.write(
          `Slipway serving ${served.join(', ')} on ${service.url}` +
            `${ws.config.env.SLIPWAY_SERVE_TOKEN ? ' (bearer token required)' : ''}; SIGTERM or Ctrl-C drains and stops it\n`,
        );
        const signal = await new Promise<string>((resolve) => {
          process.once('SIGINT', () => resolve('SIGINT'));
          process.once('SIGTERM', () => resolve('SIGTERM'));
        });
        log(`slipway serve: ${signal}: draining the requests in flight (up to ${drainMs / 1000} s)`);
        const { drained } = await service.stop(drainMs);
        log(
          `slipway serve: ${drained ? 'drained' : 'drain timed out; closed the remaining connections'}; stopped`,
        );
        await session?.close();
        if (shadowLog) await new Promise<void>((done) => shadowLog.end(done));
      },
    );

  program
    .command('serve-report')
    .description(
      'Compare the answering and shadow versions from the comparisons `slipway serve --shadow` appended: per pair of ' +
        'versions, requests, rows, label agreement, mean and largest probability difference, model time per request ' +
        '(anomaly versions: agreement of the outlier flags, predicted_outlier < 0, and differences of anomaly_score in its own units).',
    )
    .argument('[file]', 'the shadow log', 'serve-shadow.jsonl')
    .option(
      '--record',
      'also record each pair in the audit log (serve-report records, by a worker), where the shadow gate of ' +
        '`slipway promote --min-shadow-agreement/--max-shadow-diff` reads the latest',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(async (file: string, opts: { json?: boolean; record?: boolean }) => {
      const { readShadowLog, serveReportEntries } = await import('../../application/serving.js');
      const { shadowTerms } = await import('../../domain/serving/shadow.js');
      const pairs = await readShadowLog(resolve(file));
      if (opts.record && pairs.length > 0) {
        const ws = openWorkspace();
        for (const model of new Set(pairs.map((p) => p.model)))
          await ws.access.assertCanUse(model, ws.identity);
        const { openSession } = await import('../session.js');
        const { auditChange } = await import('../../application/changes.js');
        const session = await openSession();
        try {
          for (const entry of serveReportEntries(pairs, resolve(file), ws.identity)) {
            await auditChange({ client: session.client, config: session.config }, entry);
          }
        } finally {
          await session.close();
        }
      }
      printResult(opts, { file: resolve(file), pairs, recorded: opts.record === true }, () =>
        pairs.length === 0
          ? `No shadowed requests in ${resolve(file)} yet.`
          : pairs
              .map(
                (p) =>
                  `${p.model}: v${p.primaryVersion} answering, v${p.shadowVersion} (${p.shadowAlias}) in shadow: ` +
                  `${p.requests} requests, ${p.rows} rows; ${shadowTerms(p.score).agreement} agree on ${(100 * p.agreement).toFixed(2)} %, ` +
                  `${shadowTerms(p.score).difference} mean ${p.meanAbsDiff.toExponential(2)}, largest ${p.maxAbsDiff.toExponential(2)}; ` +
                  `model time p50/p99 ${p.primaryMs.p50.toFixed(2)}/${p.primaryMs.p99.toFixed(2)} ms answering, ` +
                  `${p.shadowMs.p50.toFixed(2)}/${p.shadowMs.p99.toFixed(2)} ms shadow`,
              )
              .join('\n'),
      );
    });
}

function parseCanary(text: string): { alias: string; percent: number } {
  const at = text.lastIndexOf(':');
  const alias = text.slice(0, at);
  const percent = at > 0 ? Number(text.slice(at + 1)) : Number.NaN;
  if (at <= 0 || !(percent > 0 && percent <= 100)) {
    throw new UsageError(
      `--canary ${text}: give <alias>:<percent>, a share above 0 and at most 100, e.g. staging:10.`,
    );
  }
  return { alias, percent };
}

function parseTarget(ref: string): ServeTarget {
  const at = ref.lastIndexOf('@');
  if (at === 0 || ref.endsWith('@'))
    throw new UsageError(`"${ref}" is not <model>@<alias>, <model>@<version> or <model>.`);
  return at < 0 ? { model: ref } : { model: ref.slice(0, at), alias: ref.slice(at + 1) };
}

function describeEvent(event: ServingEvent): string {
  const name = `${event.model}${event.alias ? `@${event.alias}` : ''}`;
  switch (event.kind) {
    case 'loaded':
      return (
        `slipway serve: ${name}: v${event.version} loaded and checked in ${event.ms} ms ` +
        (event.check.source === 'outputs'
          ? `(${event.check.rows} probe rows, finite outputs: an imported ${event.versionKind} file records no network to compare with)`
          : `(${event.check.rows} probe rows against its ${event.check.source} ${event.versionKind === 'anomaly' ? 'autoencoder' : 'network'}, ` +
            `worst ${event.check.worstBoundUsed.toFixed(3)} of the ${event.versionKind === 'anomaly' ? 'parity tolerance' : 'float32 bound'})`)
      );
    case 'swapped':
      return `slipway serve: ${name}: moved v${event.from} -> v${event.to}; ${event.warm ? 'kept warm, swapped back' : 'loaded, checked and swapped'} in ${event.ms} ms`;
    case 'refused':
      return `slipway serve: ${name}: REFUSED v${event.version} (${event.kept === undefined ? 'nothing swapped out' : `v${event.kept} keeps answering`}): ${event.reason}`;
    case 'poll-failed':
      return `slipway serve: ${name}: ${event.message} (will try again)`;
    case 'monitored':
      return `slipway serve: ${event.model} v${event.version}: monitored batch of ${event.rows} rows recorded (${event.drifted.length === 0 ? 'no feature drifted' : `drifted: ${event.drifted.join(', ')}`})`;
    case 'monitor-failed':
      return `slipway serve: ${event.model} v${event.version}: the monitored batch of ${event.rows} rows could not be recorded: ${event.message}`;
  }
}
