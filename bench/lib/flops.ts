import type { ModelSpec } from '../../domain/ml/modelSpec';

/**
 * Floating-point operations of one training sample in the dense layers' matrix multiplies:
 * forward x·W (2·in·out), the weight gradient xᵀ·dY (2·in·out) and, for every layer but the first,
 * the input gradient dY·Wᵀ (2·in·out; the first layer's input is data, so no gradient is taken).
 * Biases, activations, dropout, the loss and the optimizer add well under 1 % and are left out,
 * so GFLOP/s figures are a slight under-count of the work done.
 */
export function trainingFlopsPerSample(spec: ModelSpec, nFeatures: number): number {
  let inputs = nFeatures;
  let flops = 0;
  let first = true;
  for (const layer of spec.layers) {
    if (layer.type !== 'dense') continue;
    const multiplyAdds = inputs * layer.units;
    flops += 2 * multiplyAdds * (first ? 2 : 3);
    first = false;
    inputs = layer.units;
  }
  return flops;
}

/** Forward pass only (2·in·out per dense layer): the work of scoring one row. */
export function inferenceFlopsPerSample(spec: ModelSpec, nFeatures: number): number {
  let inputs = nFeatures;
  let flops = 0;
  for (const layer of spec.layers) {
    if (layer.type !== 'dense') continue;
    flops += 2 * inputs * layer.units;
    inputs = layer.units;
  }
  return flops;
}
