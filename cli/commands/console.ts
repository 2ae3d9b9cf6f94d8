import type { Command } from 'commander';
import { parseNumberOption } from '../numberOption';
import { log } from '../output';
import { openSession } from '../session';

export function registerConsoleCommand(program: Command): void {
  program
    .command('console')
    .description(
      'Serve the web console on this machine: models and versions with metrics and aliases, each version with its ' +
        'report, model card, metadata and lineage graph, the runs waiting for review with Approve and Reject, and ' +
        'the audit log. Decisions are made as SLIPWAY_USER (else your user name), through the same checks as ' +
        '`slipway approve`.',
    )
    .option('--port <n>', 'port to listen on (0: any free port)', '4600')
    .option(
      '--host <address>',
      'address to listen on; keep the loopback default unless others must reach it',
      '127.0.0.1',
    )
    .option(
      '--temporal-ui <url>',
      "base address of the Temporal Web UI for links to runs (default: the embedded dev server's, " +
        'where `slipway dev status` shows it; none for a configured cluster unless given)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  slipway console\n  SLIPWAY_USER=alice slipway console --port 8080\n' +
        '  slipway console --temporal-ui https://temporal.example.internal',
    )
    .action(async (opts: { port: string; host: string; temporalUi?: string }) => {
      const port = parseNumberOption(opts.port, '--port', { integer: true, min: 0, max: 65535 });
      if (opts.temporalUi !== undefined && !/^https?:\/\//.test(opts.temporalUi))
        throw new Error(
          `--temporal-ui ${opts.temporalUi} is not an address: give http://host:port or https://host.`,
        );
      const session = await openSession({ needWorker: false });
      // Loaded by this command only: the web server and the pages.
      const { startConsole } = await import('../../console/server.js');
      const temporalUi = opts.temporalUi ?? session.temporalUi;
      const running = await startConsole({
        config: session.config,
        client: session.client,
        host: opts.host,
        port,
        temporalUi,
      }).catch(async (err: unknown) => {
        await session.close();
        throw err;
      });
      process.stdout.write(
        `Slipway console: ${running.url}  (acting as ${session.config.identity}; Ctrl-C stops it)\n`,
      );
      if (temporalUi === undefined)
        log('slipway console: no Temporal Web UI address known; pass --temporal-ui <url> for links to runs.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await running.close();
      await session.close();
    });
}
