import { join } from 'node:path';
import { REPO_ROOT } from '../../config/repoRoot';

/**
 * Where the native addon is built (native/blas-gemm/build.js). In a module of its own so code that
 * only needs to know the file (the background worker's fingerprint) does not load tfjs. Found from
 * the repository root, so it holds from the sources and from the compiled dist/ build alike.
 */
export const ADDON_PATH = join(REPO_ROOT, 'native/blas-gemm/build/Release/blas_gemm.node');
