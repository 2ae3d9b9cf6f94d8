import { type ModelSpec, modelSpecSchema } from '../../domain/ml/modelSpec';

/**
 * A small network for training tests: one hidden ReLU layer of `units`, dropout 0.2 and a sigmoid
 * output; `training` sets the batch size, epochs, learning rate and seed.
 */
export function smallNetworkSpec(units: number, training: Partial<Omit<ModelSpec, 'layers'>>): ModelSpec {
  return modelSpecSchema.parse({
    layers: [
      { type: 'dense', units, activation: 'relu' },
      { type: 'dropout', rate: 0.2 },
      { type: 'dense', units: 1, activation: 'sigmoid' },
    ],
    ...training,
  });
}
