import { writeProbability } from './probabilityText';

// The most an appended ",<0|1>,<probability>\n" takes: the probability's shortest form of nine
// significant digits is at most 15 characters ("-1.23456789e-45").
export const SUFFIX_BYTES = 32;

/**
 * Writes ",<label>,<probability>\n" at `o` of `out` (SUFFIX_BYTES free) and returns the new
 * offset: the label is probability >= threshold, the probability its nine significant digits
 * (which always read back as the same float32; the double's full expansion would only add noise
 * the model never computed), as String(Number(p.toPrecision(9))) writes them (probabilityText.ts).
 */
export function writeScoredFields(out: Buffer, o: number, probability: number, label: 0 | 1): number {
  out[o++] = 44;
  out[o++] = 48 + label;
  out[o++] = 44;
  o = writeProbability(out, o, probability);
  out[o++] = 10;
  return o;
}
