import type { Command } from 'commander';
import { DEFAULT_TARGET_COLUMN } from '../domain/data/targetColumn';
import { numberOption } from './numberOption';

/** The training options shared by `run` and `schedule create`: the label, the features, the epochs. */
export function addTrainingOptions(command: Command): Command {
  return command
    .option('--target <column>', 'the 0/1 label column', DEFAULT_TARGET_COLUMN)
    .option('--features <list>', 'comma-separated feature columns in order (default: all but the target)')
    .option(
      '--epochs <n>',
      'training epochs (default 50, the reference)',
      numberOption('--epochs', { integer: true, min: 1, max: 10_000 }),
    );
}
