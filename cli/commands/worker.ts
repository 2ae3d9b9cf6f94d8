import type { Command } from 'commander';
import { loadConfig } from '../../config/env';
import { log } from '../output';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'Run a worker that polls the main and training task queues until stopped (Ctrl-C or SIGTERM).',
    )
    .option('--queues <list>', 'which queues to poll: main, training or main,training', 'main,training')
    .option('--identity <name>', 'worker identity shown in Temporal (default: host and pid)')
    .action(async (opts: { queues: string; identity?: string }) => {
      const queues = opts.queues.split(',').map((q) => q.trim());
      const unknown = queues.filter((q) => q !== 'main' && q !== 'training');
      if (unknown.length > 0)
        throw new Error(`Unknown queue ${unknown.join(', ')}: use main, training or main,training.`);
      const config = loadConfig();
      // Loaded by this command only: the worker brings the Temporal SDK, tfjs and onnxruntime.
      const { createWorkers } = await import('../../worker/worker.js');
      const { runReloadingCertificates } = await import('../../worker/certificateReload.js');
      const start = () =>
        createWorkers(config, {
          identity: opts.identity,
          queues: queues as Array<'main' | 'training'>,
        });
      // The SDK's runtime turns SIGINT/SIGTERM into a graceful shutdown: in-flight tasks finish first.
      // Renewed TLS files (a client certificate, a CA) are picked up without a restart.
      await runReloadingCertificates(config, start, log, () =>
        log(
          `slipway worker: polling ${queues.map((q) => (q === 'main' ? config.taskQueue : config.trainingTaskQueue)).join(' and ')} ` +
            `on ${config.temporalAddress} (namespace ${config.namespace}); artifacts in ${config.artifactsUri}`,
        ),
      );
      log('slipway worker: stopped');
    });
}
