import { Command, CommanderError } from 'commander';
import { registerAccessCommands } from './commands/access';
import { registerApplyCommands } from './commands/apply';
import { registerAuditCommand } from './commands/audit';
import { registerCancelCommand } from './commands/cancel';
import { registerConsoleCommand } from './commands/console';
import { registerDemoCommand } from './commands/demo';
import { registerDevCommand } from './commands/dev';
import { registerExtractCommand } from './commands/extract';
import { registerImportCommand } from './commands/import';
import { registerLineageCommand } from './commands/lineage';
import { registerModelsCommands } from './commands/models';
import { registerReviewCommands } from './commands/review';
import { registerRunCommand } from './commands/run';
import { registerScheduleCommand } from './commands/schedule';
import { registerWorkerCommand } from './commands/worker';
import { describeError, exitCodeForError } from './errors';
import { EXIT, exitCodeHelp } from './exitCodes';

const program = new Command()
  .name('slipway')
  .description(
    'Durable training-to-deployment pipelines: extract, scale, train, evaluate, export to ONNX, gate, register, ' +
      'review and promote, with lineage and an audit log. ' +
      'With no configuration everything runs on an embedded stack (a local Temporal dev server, a background worker and a local ' +
      'artifact folder); set SLIPWAY_TEMPORAL_ADDRESS and SLIPWAY_ARTIFACTS=s3://... for real infrastructure.',
  )
  .version(require('../package.json').version)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', `\n${exitCodeHelp()}`)
  .exitOverride();

registerDemoCommand(program);
registerRunCommand(program);
registerCancelCommand(program);
registerImportCommand(program);
registerReviewCommands(program);
registerScheduleCommand(program);
registerModelsCommands(program);
registerAccessCommands(program);
registerApplyCommands(program);
registerLineageCommand(program);
registerAuditCommand(program);
registerConsoleCommand(program);
registerExtractCommand(program);
registerWorkerCommand(program);
registerDevCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version end with 0; a wrong option or argument is bad input.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.badInput;
    return;
  }
  process.stderr.write(`${describeError(err)}\n`);
  process.exitCode = exitCodeForError(err);
});
