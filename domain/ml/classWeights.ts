import { TrainingInputError } from './errors';

export type ClassWeightMode = 'inverse' | 'balanced' | 'none';

export interface ClassWeights {
  negative: number;
  positive: number;
}

/**
 * `inverse`: 1/count(class), as in the reference notebook. `balanced`: n / (2 * count(class)),
 * scikit-learn's convention, which keeps the average weight at 1. `none`: 1 and 1.
 */
export function computeClassWeights(y: Uint8Array, mode: ClassWeightMode): ClassWeights {
  let positive = 0;
  for (let i = 0; i < y.length; i++) positive += y[i] === 1 ? 1 : 0;
  const negative = y.length - positive;
  if (positive === 0 || negative === 0) {
    throw new TrainingInputError(
      'SingleClass',
      `The training split has ${negative} negative and ${positive} positive rows: both classes are needed to train a ` +
        'binary classifier. Check the target column or use more data.',
    );
  }
  switch (mode) {
    case 'inverse':
      return { negative: 1 / negative, positive: 1 / positive };
    case 'balanced':
      return { negative: y.length / (2 * negative), positive: y.length / (2 * positive) };
    case 'none':
      return { negative: 1, positive: 1 };
  }
}
