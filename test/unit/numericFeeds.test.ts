import type * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { addNumericFeeds, numericInputsOf } from '../../domain/scoring/numericFeeds';

const tensor = (name: string, type: string, shape: Array<number | string>) =>
  ({ name, isTensor: true, type, shape }) as unknown as ort.InferenceSession.ValueMetadata;

describe('numericInputsOf / addNumericFeeds', () => {
  it('reads one float block, or one [N, 1] input per numeric feature in graph order, beside the string inputs', () => {
    const block = [tensor('features', 'float32', ['N', 2]), tensor('account', 'string', ['N', 1])];
    expect(numericInputsOf(block, 2, ['account'])).toEqual([{ name: 'features', offset: 0, width: 2 }]);
    const perColumn = [
      tensor('protocol', 'string', ['N', 1]),
      tensor('bytes', 'float32', ['N', 1]),
      tensor('duration', 'float32', ['N', 1]),
    ];
    expect(numericInputsOf(perColumn, 2, ['protocol'])).toEqual([
      { name: 'bytes', offset: 0, width: 1 },
      { name: 'duration', offset: 1, width: 1 },
    ]);
    // Neither layout: a wrong width, a string input that is not a categorical feature, an int64 input.
    expect(numericInputsOf(block, 3, ['account'])).toBeUndefined();
    expect(numericInputsOf(perColumn, 2, [])).toBeUndefined();
    expect(numericInputsOf([tensor('n', 'int64', ['N', 1])], 1, [])).toBeUndefined();
    expect(numericInputsOf([tensor('account', 'string', ['N', 1])], 0, ['account'])).toEqual([]);
  });

  it('feeds a per-feature input its column of the row-major numeric matrix', () => {
    const feeds: Record<string, ort.Tensor> = {};
    const runtime = {
      Tensor: class {
        constructor(
          readonly type: string,
          readonly data: Float32Array,
          readonly dims: number[],
        ) {}
      },
    } as unknown as typeof ort;
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    addNumericFeeds(
      runtime,
      feeds,
      [
        { name: 'bytes', offset: 0, width: 1 },
        { name: 'duration', offset: 1, width: 1 },
      ],
      x,
      3,
      2,
    );
    expect(Array.from(feeds.bytes?.data as Float32Array)).toEqual([1, 3, 5]);
    expect(Array.from(feeds.duration?.data as Float32Array)).toEqual([2, 4, 6]);
    expect(feeds.duration?.dims).toEqual([3, 1]);
  });
});
