import type { Command } from 'commander';
import { loadConfig } from '../../config/env';
import { embeddedStackStatus, ensureEmbeddedStack, stopEmbeddedStack } from '../../infra/stack';
import { printResult } from '../output';

export function registerDevCommand(program: Command): void {
  const dev = program
    .command('dev')
    .description(
      'Manage the embedded stack (a local Temporal dev server kept in the background between commands).',
    );

  dev
    .command('up')
    .description('Start the embedded stack if it is not running (idempotent).')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const stack = await ensureEmbeddedStack(config);
      printResult(
        opts,
        stack,
        () =>
          `${stack.started ? 'Started' : 'Already running'}: Temporal ${stack.temporalAddress} (Web UI ${stack.uiUrl})\n` +
          `  state and logs: ${config.stateDir}\n  artifacts: ${config.artifactsUri}`,
      );
    });

  dev
    .command('down')
    .description('Stop the embedded stack; its database and artifacts stay on disk.')
    .action(async () => {
      const config = loadConfig();
      await stopEmbeddedStack(config);
      process.stdout.write(`Stopped. Data kept in ${config.stateDir}\n`);
    });

  dev
    .command('status')
    .description('Show whether the embedded stack is running, and where its data and logs are.')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const status = await embeddedStackStatus(config);
      printResult(opts, status, () => JSON.stringify(status, null, 2));
    });
}
