import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parsePipelineFile } from '../../application/pipelineFile';
import { pipelineFileTemplate } from '../../application/pipelineTemplate';
import { UsageError } from '../usageError';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'Write a commented starting pipeline file (every setting at the reference default) for `slipway run -f`.',
    )
    .argument('[path]', 'where to write it', 'slipway.yaml')
    .option('--model <name>', 'the registered model name to put in it (default card-fraud)')
    .option('--source <uri>', 'the data source to put in it (default synthetic fraud data)')
    .option('--force', 'overwrite an existing file')
    .action((path: string, opts: { model?: string; source?: string; force?: boolean }) => {
      const text = pipelineFileTemplate({ model: opts.model, source: opts.source });
      // A --model or --source the file refuses is said now, not at the first run.
      parsePipelineFile(text, path);
      try {
        writeFileSync(path, text, { flag: opts.force ? 'w' : 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new UsageError(`${path} exists; give another path, or --force to overwrite it`);
        }
        throw err;
      }
      process.stdout.write(
        `Wrote ${path}. Edit it, then: slipway run -f ${path}   (or: slipway schedule create -f ${path})\n`,
      );
    });
}
