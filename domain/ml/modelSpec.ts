import { z } from 'zod';

/** Activations the builder, the trainer and the ONNX exporter all support. */
export const denseActivations = ['relu', 'sigmoid', 'tanh', 'linear', 'elu', 'selu', 'softplus'] as const;
export type DenseActivation = (typeof denseActivations)[number];

export const denseLayerSchema = z.object({
  type: z.literal('dense'),
  units: z.number().int().min(1).max(65536),
  activation: z.enum(denseActivations).default('relu'),
});

export const dropoutLayerSchema = z.object({
  type: z.literal('dropout'),
  rate: z.number().min(0).lt(1),
});

export const layerSchema = z.discriminatedUnion('type', [denseLayerSchema, dropoutLayerSchema]);

/**
 * A binary classifier as a stack of dense and dropout layers. The last layer must be
 * Dense(1, sigmoid) so the output is a probability of the positive class.
 */
export const modelSpecSchema = z
  .object({
    layers: z.array(layerSchema).min(1),
    optimizer: z.enum(['adam', 'sgd', 'rmsprop']).default('adam'),
    learningRate: z.number().positive().max(10).default(1e-2),
    loss: z.literal('binaryCrossentropy').default('binaryCrossentropy'),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .default(2048),
    epochs: z.number().int().min(1).max(10_000).default(50),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
  })
  .superRefine((spec, ctx) => {
    const last = spec.layers[spec.layers.length - 1];
    if (last?.type !== 'dense' || last.units !== 1 || last.activation !== 'sigmoid') {
      ctx.addIssue({
        code: 'custom',
        path: ['layers', spec.layers.length - 1],
        message:
          'the last layer must be { type: "dense", units: 1, activation: "sigmoid" } for binary classification',
      });
    }
  });

export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** The reference network of the credit-card-fraud notebook: 139,777 parameters on 30 features. */
export const referenceModelSpec: ModelSpec = modelSpecSchema.parse({
  layers: [
    { type: 'dense', units: 256, activation: 'relu' },
    { type: 'dense', units: 256, activation: 'relu' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 256, activation: 'relu' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 1, activation: 'sigmoid' },
  ],
  optimizer: 'adam',
  learningRate: 1e-2,
  batchSize: 2048,
  epochs: 50,
  seed: 42,
});

/** Trainable parameters of a spec on `nFeatures` inputs, without building the model. */
export function countParameters(spec: ModelSpec, nFeatures: number): number {
  let inputs = nFeatures;
  let total = 0;
  for (const layer of spec.layers) {
    if (layer.type === 'dense') {
      total += inputs * layer.units + layer.units;
      inputs = layer.units;
    }
  }
  return total;
}
