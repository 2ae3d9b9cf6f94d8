import { join } from 'node:path';
import { loadConfig } from '../../config/env';
import { ensurePythonVenv, type PythonOnnx } from '../../infra/pythonTools';

/** Keras 3 comes with this TensorFlow; the CPU-only wheel, as a data scientist's laptop would run it. */
export const TENSORFLOW_CPU_VERSION = '2.21.0';
/** pandas for the apply peer (read_csv + predict + to_csv), pinned like the rest. */
export const PANDAS_VERSION = '3.1.1';

/**
 * The virtual environment the Keras side of the bench runs in, built on first use from the package
 * index. It lives in the per-machine binary cache (SLIPWAY_BIN_CACHE, ~/.cache/slipway), beside the
 * service binaries, so a fresh clone (CI's) reuses it instead of spending a minute on pip.
 */
export function ensureKerasVenv(): Promise<PythonOnnx> {
  const { binCache } = loadConfig();
  return ensurePythonVenv({
    dir: join(binCache, `py-keras-tensorflow-cpu-${TENSORFLOW_CPU_VERSION}-pandas-${PANDAS_VERSION}`),
    packages: [`tensorflow-cpu==${TENSORFLOW_CPU_VERSION}`, `pandas==${PANDAS_VERSION}`],
    probe:
      'import keras, tensorflow, pandas; print(tensorflow.__version__, keras.__version__, pandas.__version__)',
  });
}
