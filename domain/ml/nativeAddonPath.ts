import { resolve } from 'node:path';

/**
 * Where `npm run build:native` puts the native GEMM addon. In a module of its own so code that
 * only needs to know the file (the background worker's fingerprint) does not load tfjs.
 */
export const ADDON_PATH = resolve(__dirname, '../../native/blas-gemm/build/Release/blas_gemm.node');
