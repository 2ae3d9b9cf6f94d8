import type { Command } from 'commander';
import { loadConfig } from '../../config/env';
import type { EmbeddedStackStatus } from '../../infra/stack';
import { printResult } from '../output';

// infra/stack is imported inside the actions: it loads the Temporal client and minio, which the
// other commands (and --help) need not wait for.
export function registerDevCommand(program: Command): void {
  const dev = program
    .command('dev')
    .description(
      'Manage the embedded stack: a local Temporal dev server and a worker kept in the background between commands.',
    );

  dev
    .command('up')
    .description(
      'Start the embedded stack (Temporal dev server and a background worker) unless it is running (idempotent).',
    )
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      if (!config.embeddedTemporal) throw notEmbedded();
      const { ensureEmbeddedStack } = await import('../../infra/stack.js');
      const stack = await ensureEmbeddedStack(config, { withWorker: true });
      printResult(
        opts,
        stack,
        () =>
          `${stack.started ? 'Started' : 'Already running'}: Temporal ${stack.temporalAddress} (Web UI ${stack.uiUrl})\n` +
          `  worker: pid ${stack.worker?.pid}${stack.worker?.started ? ' (started now)' : ''}, log ${stack.worker?.logFile}\n` +
          `  state and logs: ${config.stateDir}\n  artifacts: ${config.artifactsUri}`,
      );
    });

  dev
    .command('down')
    .description('Stop the embedded stack (worker and servers); its database and artifacts stay on disk.')
    .action(async () => {
      const config = loadConfig();
      if (!config.embeddedTemporal) throw notEmbedded();
      const { stopEmbeddedStack } = await import('../../infra/stack.js');
      await stopEmbeddedStack(config);
      process.stdout.write(`Stopped. Data kept in ${config.stateDir}\n`);
    });

  dev
    .command('status')
    .description('Show whether the embedded stack is running, and where its data and logs are.')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const { embeddedStackStatus } = await import('../../infra/stack.js');
      const status = await embeddedStackStatus(config);
      printResult(opts, status, () => describeStatus(status));
    });
}

function notEmbedded(): Error {
  return new Error(
    'SLIPWAY_TEMPORAL_ADDRESS is set, so Slipway uses that Temporal server and keeps no embedded stack. ' +
      'Unset it to use `slipway dev`, or run workers there with `slipway worker`.',
  );
}

function describeStatus(status: EmbeddedStackStatus): string {
  const lines = [`embedded stack: ${status.running ? 'running' : 'not running'}`];
  if (status.temporal) {
    lines.push(
      `  Temporal: ${status.temporal.temporalAddress} (pid ${status.temporal.temporalPid}, ${status.temporal.healthy ? 'healthy' : 'not answering'}), Web UI ${status.temporal.uiUrl}`,
      `    log ${status.temporal.logFile}`,
    );
  }
  if (status.worker) {
    const state = !status.worker.running
      ? 'not running'
      : status.worker.current
        ? 'polling'
        : 'running other code or settings (the next command replaces it)';
    lines.push(`  worker: pid ${status.worker.pid}, ${state}`, `    log ${status.worker.logFile}`);
  } else {
    lines.push('  worker: none (started by `slipway dev up` or the next command that needs one)');
  }
  if (status.minio) {
    lines.push(
      `  MinIO: ${status.minio.endpoint} (pid ${status.minio.pid}, ${status.minio.healthy ? 'healthy' : 'not answering'})`,
    );
  }
  lines.push(
    `  database: ${status.database}`,
    `  artifacts: ${status.artifacts}`,
    `  state: ${status.stateDir}`,
  );
  return lines.join('\n');
}
