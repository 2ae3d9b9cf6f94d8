import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  cpuModel: string;
  /** Logical CPUs the OS gives this process (on a VM these may be hyper-threads). */
  cores: number;
  memoryGiB: number;
  /** From /proc/cpuinfo's "cpu MHz" (the current clock; turbo may run higher). */
  ghz: number;
  vector: 'avx512f' | 'avx2' | 'avx' | 'sse2';
  fma: boolean;
  /** Single-precision FLOPs per cycle per core assumed for the peak (see peakFormula). */
  flopsPerCycle: number;
  peakGflops: number;
  peakFormula: string;
  loadAverageAtStart: number;
  node: string;
}

/**
 * The machine and its single-precision peak: cores x GHz x FLOPs/cycle, where FLOPs/cycle =
 * float32 lanes of the widest vector unit (16 for AVX-512, 8 for AVX/AVX2, 4 for SSE) x 2 if it
 * has fused multiply-add x 2 vector pipes (what current x86 server cores have). A theoretical
 * ceiling: no real GEMM reaches it, and memory-bound layers stay far below.
 */
export function describeMachine(): Machine {
  const info = readCpuinfo();
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(/\s+/));
  const vector = flags.has('avx512f')
    ? 'avx512f'
    : flags.has('avx2')
      ? 'avx2'
      : flags.has('avx')
        ? 'avx'
        : 'sse2';
  const lanes = { avx512f: 16, avx2: 8, avx: 8, sse2: 4 }[vector];
  const fma = flags.has('fma');
  const flopsPerCycle = lanes * (fma ? 2 : 1) * 2;
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? cpus()[0]?.speed ?? 0);
  const ghz = mhz / 1000;
  const cores = cpus().length;
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    ghz,
    vector,
    fma,
    flopsPerCycle,
    peakGflops: cores * ghz * flopsPerCycle,
    peakFormula:
      `${cores} cores x ${ghz.toFixed(2)} GHz x ${flopsPerCycle} FLOP/cycle ` +
      `(${lanes} float32 lanes of ${vector}${fma ? ' x 2 for FMA' : ''} x 2 vector pipes)`,
    loadAverageAtStart: loadavg()[0] ?? 0,
    node: process.version,
  };
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return ''; // not Linux: the flags are unknown, the peak falls back to SSE2 without FMA
  }
}
