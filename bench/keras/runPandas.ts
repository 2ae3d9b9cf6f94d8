import { join } from 'node:path';
import { runJsonChild } from '../lib/child';
import { ensureKerasVenv } from './venv';

/** What bench/keras/apply_pandas.py prints for `apply`. */
export interface PandasApplyReport {
  pandas: string;
  keras: string;
  rows: number;
  seconds: number;
  readSeconds: number;
  predictSeconds: number;
  writeSeconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
}

/** What it prints for `read`. */
export interface PandasReadReport {
  pandas: string;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
}

async function python(): Promise<string> {
  const venv = await ensureKerasVenv();
  if ('missing' in venv)
    throw new Error(`the Keras/pandas environment could not be installed: ${venv.missing}`);
  return venv.python;
}

const script = join(__dirname, 'apply_pandas.py');

/** pandas read_csv + Keras predict + to_csv on `input`, with the model written in `modelDir`. */
export async function runPandasApply(
  modelDir: string,
  input: string,
  output: string,
): Promise<PandasApplyReport> {
  return runJsonChild<PandasApplyReport>(
    'pandas apply',
    await python(),
    [script, 'apply', modelDir, input, output],
    {
      timeoutSeconds: 3600,
    },
  );
}

/** pandas read_csv alone on `input`. */
export async function runPandasRead(input: string): Promise<PandasReadReport> {
  return runJsonChild<PandasReadReport>('pandas read_csv', await python(), [script, 'read', input], {
    timeoutSeconds: 3600,
  });
}
