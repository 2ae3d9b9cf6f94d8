import { describe, expect, it } from 'vitest';
import { float32AtLeast } from '../../domain/onnx/exporter';

function previousFloat32(f: number): number {
  const bits = new Float32Array([f]);
  new Int32Array(bits.buffer)[0] -= 1;
  return bits[0] as number;
}

describe('float32AtLeast (the threshold stored in the ONNX graph)', () => {
  it('keeps thresholds that are already float32', () => {
    expect(float32AtLeast(0.5)).toBe(0.5);
    expect(float32AtLeast(0.25)).toBe(0.25);
  });

  it.each([0.1, 0.3, 0.7, 0.9, 1e-6, 0.999999, 0.123456789])('is the smallest float32 not below %s', (t) => {
    const f = float32AtLeast(t);
    expect(Math.fround(f)).toBe(f);
    expect(f).toBeGreaterThanOrEqual(t);
    expect(previousFloat32(f)).toBeLessThan(t);
  });

  it('rounds up where nearest rounding would go down (0.7 rounds down to float32)', () => {
    expect(Math.fround(0.7)).toBeLessThan(0.7);
    const below = Math.fround(0.7);
    // A probability equal to the nearest float32 is below 0.7 and must stay negative.
    expect(below >= float32AtLeast(0.7)).toBe(false);
  });
});
