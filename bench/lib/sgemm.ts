import { loadNativeGemm } from '../../domain/ml/nativeGemm';

/**
 * The BLAS's own sgemm rate on the reference network's largest GEMM ([2048 x 256] x [256 x 256]),
 * with the threads currently set, times `cores`: the ceiling a trainer over this BLAS could
 * approach. The native trainer runs one single-threaded sgemm per core at once, so for it this is
 * the one-thread rate times its trainer threads. Undefined when the native addon is not built.
 */
export function rawSgemmGflops(cores = 1): number | undefined {
  const loaded = loadNativeGemm();
  if (!loaded.ok) return undefined;
  const [m, n, k] = [2048, 256, 256];
  const heap = new Float32Array(m * k + k * n + m * n).map(() => Math.random() - 0.5);
  const offsets = new Float64Array([0, m * k, m * k + k * n]);
  const call = () => loaded.addon.gemm(heap, m, n, k, false, false, offsets, null, 0, 0, 0, 0, null, 0, 0);
  for (let i = 0; i < 5; i++) call();
  const reps = 50;
  const start = performance.now();
  for (let i = 0; i < reps; i++) call();
  return (cores * (2 * m * n * k * reps)) / ((performance.now() - start) / 1000) / 1e9;
}
