import { Command, CommanderError } from 'commander';
import { PACKAGE_VERSION } from '../config/repoRoot';
import { modulesFor } from './commandModules';
import { EXIT, exitCodeHelp } from './exitCodes';

const program = new Command()
  .name('slipway')
  .description(
    'Durable training-to-deployment pipelines: extract, scale, train, evaluate, export to ONNX, gate, register, ' +
      'review and promote, with lineage and an audit log. ' +
      'With no configuration everything runs on an embedded stack (a local Temporal dev server, a background worker and a local ' +
      'artifact folder); set SLIPWAY_TEMPORAL_ADDRESS and SLIPWAY_ARTIFACTS=s3://... for real infrastructure.',
  )
  .version(PACKAGE_VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', `\n${exitCodeHelp()}`)
  .exitOverride();

// A reader that stops early (`slipway --help | head`) closes the pipe: the rest of the output is
// not wanted, which is not an error, so end quietly rather than crash on the failed write.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

async function main(): Promise<void> {
  // Only the module of the command being run is loaded (all of them for --help): see commandModules.
  const registers = await Promise.all(modulesFor(process.argv.slice(2)).map((m) => m.load()));
  for (const register of registers) register(program);
  await program.parseAsync(process.argv);
}

main().catch(async (err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version end with 0; a wrong option or argument is bad input.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.badInput;
    return;
  }
  // Loaded on failure only: it knows the Temporal SDK's error classes, a slow module to load.
  const { describeError, exitCodeForError } = await import('./errors.js');
  process.stderr.write(`${describeError(err)}\n`);
  process.exitCode = exitCodeForError(err);
});
