import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../domain/random';
import { probabilityText, writeProbability } from '../../domain/scoring/probabilityText';

/** writeProbability against the reference, String(Number(p.toPrecision(9))), byte for byte. */
const out = Buffer.alloc(64);
function mismatches(values: Iterable<number>): string[] {
  const wrong: string[] = [];
  for (const p of values) {
    const end = writeProbability(out, 3, p);
    const text = out.toString('latin1', 3, end);
    if (text !== probabilityText(p)) wrong.push(`${p}: ${text} instead of ${probabilityText(p)}`);
  }
  return wrong.slice(0, 5);
}

function* float32Stride(stride: number, offset: number) {
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  // 0x3f800000 is 1.0f: every float32 from 0 (denormals included) to 1.
  for (let b = offset; b <= 0x3f800000; b += stride) {
    bits[0] = b;
    yield f[0] as number;
  }
}

describe('writeProbability', () => {
  it('writes what String(Number(p.toPrecision(9))) writes, on a stride through every float32 from 0 to 1', () => {
    expect(mismatches(float32Stride(997, 0))).toEqual([]);
    expect(mismatches(float32Stride(4001, 501))).toEqual([]);
  });

  it('at the edges: 0, 1, denormals, powers of ten and their float32 neighbours, halfway cases', () => {
    const f = new Float32Array(1);
    const bits = new Uint32Array(f.buffer);
    const edges: number[] = [
      0, -0, 1, 1e-7, 1e-6, 5e-7, 0.5, 0.1, 0.05, 1e9, 1e21, 1e-45, 1.4e-45, 1.17549435e-38,
    ];
    for (let e = -45; e <= 12; e++)
      for (let d = -3; d <= 3; d++) {
        f[0] = 10 ** e;
        bits[0] = (bits[0] as number) + d;
        edges.push(f[0] as number);
      }
    // Exactly halfway at the ninth digit (as decimals; their doubles fall either side).
    for (let i = 0; i < 2000; i++) edges.push(Number(`0.${String(100000000 + i * 4999)}5`));
    for (let bit = 0; bit < 23; bit++) edges.push(1 - 2 ** -(bit + 1), 2 ** -(bit + 1));
    expect(mismatches(edges)).toEqual([]);
  });

  it('outside a probability: negative, large, NaN and infinite values as the reference writes them', () => {
    const random = mulberry32(7);
    const values = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1,
      -0.5,
      2,
      123456789,
      1e300,
    ];
    for (let i = 0; i < 200_000; i++) {
      const sign = random() < 0.2 ? -1 : 1;
      values.push(sign * 10 ** (random() * 24 - 12), Math.fround(random()), random());
    }
    expect(mismatches(values)).toEqual([]);
  });
});
