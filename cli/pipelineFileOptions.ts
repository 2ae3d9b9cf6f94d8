import type { Command } from 'commander';
import type { LoadedPipelineFile, RunOverrides } from '../application/pipelineFile';
import type { GateSettingsInput } from '../contracts/inputs';
import { parseDatasetSource } from '../domain/data/sourceUri';
import { type GateFlags, gateSettingsFromFlags } from './gateOptions';

/** Whether the person typed `--name` (not a default commander filled in). */
export function givenOnCommandLine(command: Command, name: string): boolean {
  const source = command.getOptionValueSource(name);
  return source === 'cli' || source === 'env';
}

/**
 * The settings the command line gives over a pipeline file (`run -f`, `schedule create -f`): only
 * the options typed, so a default (`--target Class`) never hides what the file says.
 */
export function overridesFromFlags(
  command: Command,
  raw: Record<string, unknown>,
  file: LoadedPipelineFile,
): RunOverrides & { gate: GateSettingsInput } {
  const given = (name: string) => givenOnCommandLine(command, name) && raw[name] !== undefined;
  return {
    ...(given('source') ? { source: parseDatasetSource(String(raw.source)).uri } : {}),
    ...(given('target') ? { target: String(raw.target) } : {}),
    ...(given('features')
      ? {
          features: String(raw.features)
            .split(',')
            .map((f) => f.trim()),
        }
      : {}),
    ...(given('categorical')
      ? {
          categorical: String(raw.categorical)
            .split(',')
            .map((f) => f.trim()),
        }
      : {}),
    ...(given('model') ? { modelName: String(raw.model) } : {}),
    ...(given('epochs') ? { epochs: Number(raw.epochs) } : {}),
    ...(given('threshold') ? { threshold: Number(raw.threshold) } : {}),
    ...(given('classWeights') ? { classWeights: raw.classWeights as RunOverrides['classWeights'] } : {}),
    ...(given('cache') ? { cache: Boolean(raw.cache) } : {}),
    // The file's gate, then a --gate JSON file over it, then the gate flags.
    gate: gateSettingsFromFlags(raw as GateFlags, file.pipeline.gate),
  };
}
