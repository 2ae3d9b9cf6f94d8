import type { Command } from 'commander';
import { openWorkspace } from '../../application/workspace';
import { numberOption } from '../numberOption';
import { printResult } from '../output';
import { withLazySession } from '../session';

export function registerNotifyCommand(program: Command): void {
  program
    .command('notify')
    .description('Notifications (webhooks) of reviews, blocked and promoted versions, rollbacks and drift.')
    .command('test')
    .description(
      "Send a `test` event to the namespace's webhooks (and SLIPWAY_WEBHOOK_URL's), delivered by a worker as every " +
        'notification is (the workers hold the secrets), and say what each answered. Exit code 1 when one was not delivered.',
    )
    .argument('<namespace>', 'whose webhooks (`default` for models named without a namespace)')
    .option(
      '--attempts <n>',
      'attempts per webhook, a second apart and then more',
      numberOption('--attempts', { integer: true, min: 1, max: 10 }),
      2,
    )
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      '\nConfigure a webhook with `slipway namespace set <namespace> --webhook <url> --webhook-secret-env <VAR>`\n' +
        '(README, "Notifications", has the payload and how a receiver checks the signature).\n' +
        '\nExample:\n  slipway notify test secops',
    )
    .action(async (namespace: string, opts: { attempts: number; json?: boolean }) => {
      const ws = openWorkspace();
      const { sendTestNotification } = await import('../../application/notify.js');
      const report = await withLazySession((connect) =>
        sendTestNotification(ws, connect, namespace, opts.attempts),
      );
      printResult(opts, report, () =>
        report.deliveries.length === 0
          ? `namespace ${namespace} has no webhooks, and SLIPWAY_WEBHOOK_URL is not set on the workers: nothing was sent. ` +
            `Add one: slipway namespace set ${namespace} --webhook <url> --webhook-secret-env <VAR>.`
          : [
              `test event ${report.eventId}:`,
              ...report.deliveries.map((d) =>
                d.delivered
                  ? `  delivered to ${d.target}: ${d.status} (attempt ${d.attempt})`
                  : `  NOT delivered to ${d.target}: ${d.error}`,
              ),
            ].join('\n'),
      );
      if (report.deliveries.length === 0 || report.deliveries.some((d) => !d.delivered)) process.exitCode = 1;
    });
}
