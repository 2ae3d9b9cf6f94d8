import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type DenseActivation, denseActivations } from '../../domain/ml/modelSpec';
import type { StandardScalerParams } from '../../domain/ml/scalerTypes';
import type { DenseLayerWeights } from '../../domain/onnx/denseLayers';
import { ExportParityError } from '../../domain/onnx/errors';
import {
  buildOnnxModel,
  encodeChecked,
  INPUT_NAME,
  LABEL_OUTPUT,
  PROBABILITY_OUTPUT,
} from '../../domain/onnx/exporter';
import { exportedNetwork } from '../../domain/onnx/parity';
import { judgeParity } from '../../domain/onnx/parityVerdict';
import { probabilityInterval, type ReferenceScores, referenceScores } from '../../domain/onnx/reference';
import { mulberry32 } from '../../domain/random';
import {
  exactActivationsAndGradients,
  exactLogits,
  float32Forward,
  type RandomCase,
  randomCase,
  sideBySide,
} from '../support/randomDense';

/**
 * Seeded property test of the parity gate over random dense networks (widths 1 to 512, 1 to 6
 * dense layers, every activation, raw features at scales 1e-3 to 1e5 with offsets), 64 rows each.
 * onnxruntime runs the exported file; the "trainer" is a plain float32 pass summing in reverse.
 *
 * No false refusal: every correct export passes.
 *
 * Faults: one weight or bias times (1 + 1e-3), one scaler mean or std off by 0.1 %, one hidden
 * layer's activation swapped. A fault is only detectable where its exact effect on some row's
 * logit exceeds what float32 rounding may do there: a 1e-3 change of one of 262,144 weights of a
 * 512 x 512 layer typically moves the logit by less than float32 rounding itself. So each fault is
 * aimed where its exact effect relative to the bound is largest (over layers, units, inputs and
 * rows, using the exact activations and gradients), and its observability is decided in exact
 * arithmetic: the interval the faulty file may give (its own exact value and bound) does not meet
 * the interval the correct file may give, on some row. Every observable fault must be refused,
 * and most faults of each kind must be observable.
 */
const NETWORKS = Number(process.env.PARITY_PROPERTY_NETWORKS ?? 200);
const faultKinds = ['weight', 'bias', 'mean', 'std', 'activation'] as const;
type FaultKind = (typeof faultKinds)[number];

const metadata = (features: string[]) => ({
  modelName: 'property',
  features,
  target: 'y',
  producerVersion: '0.0.0',
  datasetSha256: 'a'.repeat(64),
  runId: 'property',
});

interface Fault {
  layers: DenseLayerWeights[];
  scaler: StandardScalerParams;
}

/** Per row and layer, the largest |d logit / d input j of that layer| times what the fault moves. */
function inputGradients(c: RandomCase, g: Float64Array[][], r: number): Float64Array {
  const layer = c.layers[0] as DenseLayerWeights;
  const out = new Float64Array(layer.inputs);
  const gr = g[r]?.[0] as Float64Array;
  for (let j = 0; j < layer.inputs; j++) {
    let s = 0;
    for (let i = 0; i < layer.units; i++)
      s += (layer.kernel[j * layer.units + i] as number) * (gr[i] as number);
    out[j] = s;
  }
  return out;
}

/** Rows the faults are aimed on (any row may then observe them). */
const AIM_ROWS = 8;

function aimFault(
  kind: FaultKind,
  c: RandomCase,
  ref: ReferenceScores,
  exact: ReturnType<typeof exactActivationsAndGradients>,
  random: () => number,
): Fault | undefined {
  const { inputs, gradients } = exact;
  const layers = c.layers.map((l) => ({
    ...l,
    kernel: Float32Array.from(l.kernel),
    bias: Float32Array.from(l.bias),
  }));
  const scaler = { ...c.scaler, mean: [...c.scaler.mean], std: [...c.scaler.std] };
  let best = { score: -1, l: 0, i: 0, j: 0 };
  const consider = (score: number, l: number, i: number, j: number) => {
    if (score > best.score) best = { score, l, i, j };
  };
  for (let r = 0; r < Math.min(AIM_ROWS, c.nRows); r++) {
    const perBound = 1 / (ref.logitBound[r] as number);
    if (kind === 'weight' || kind === 'bias') {
      c.layers.forEach((layer, l) => {
        const a = inputs[r]?.[l] as Float64Array;
        const g = gradients[r]?.[l] as Float64Array;
        for (let i = 0; i < layer.units; i++) {
          const gi = Math.abs(g[i] as number) * perBound;
          if (kind === 'bias') consider(gi * Math.abs(layer.bias[i] as number), l, i, 0);
          else
            for (let j = 0; j < layer.inputs; j++)
              consider(
                gi * Math.abs((a[j] as number) * (layer.kernel[j * layer.units + i] as number)),
                l,
                i,
                j,
              );
        }
      });
    } else if (kind === 'mean' || kind === 'std') {
      const h = inputGradients(c, gradients, r);
      const s = inputs[r]?.[0] as Float64Array;
      for (let j = 0; j < c.nFeatures; j++) {
        const moved =
          kind === 'mean'
            ? Math.abs((c.scaler.mean[j] as number) / (c.scaler.std[j] as number))
            : Math.abs(s[j] as number);
        consider(Math.abs(h[j] as number) * moved * perBound, 0, 0, j);
      }
    }
  }
  const fround = (v: number) => Math.fround(v * (1 + 1e-3));
  switch (kind) {
    case 'weight': {
      const layer = layers[best.l] as DenseLayerWeights;
      const k = best.j * layer.units + best.i;
      layer.kernel[k] = fround(layer.kernel[k] as number);
      break;
    }
    case 'bias': {
      const layer = layers[best.l] as DenseLayerWeights;
      layer.bias[best.i] = fround(layer.bias[best.i] as number);
      break;
    }
    case 'mean':
      scaler.mean[best.j] = (scaler.mean[best.j] as number) * (1 + 1e-3);
      break;
    case 'std':
      scaler.std[best.j] = (scaler.std[best.j] as number) * (1 + 1e-3);
      break;
    case 'activation': {
      if (layers.length < 2) return undefined; // no hidden layer to swap
      const l = Math.floor(random() * (layers.length - 1));
      const layer = layers[l] as DenseLayerWeights;
      const others = denseActivations.filter((a) => a !== layer.activation);
      layer.activation = others[Math.floor(random() * others.length)] as DenseActivation;
      break;
    }
  }
  return { layers, scaler };
}

/**
 * Whether the fault shows in exact arithmetic: on some row, the probabilities a float32 engine may
 * give for the faulty network and for the correct one (each exact value widened by its bound) do
 * not overlap. Small faults keep the bound (to within far less than 1 %); a swapped activation
 * gets its own.
 */
function observable(c: RandomCase, ref: ReferenceScores, kind: FaultKind, fault: Fault): boolean {
  const faulty: ReferenceScores =
    kind === 'activation'
      ? referenceScores(exportedNetwork(fault.layers, fault.scaler), c.x, c.nRows, c.nFeatures)
      : {
          logit: exactLogits(c, fault.layers, fault.scaler),
          logitBound: ref.logitBound.map((b) => 1.01 * b),
        };
  for (let r = 0; r < c.nRows; r++) {
    const good = probabilityInterval(ref.logit[r] as number, ref.logitBound[r] as number);
    const bad = probabilityInterval(faulty.logit[r] as number, faulty.logitBound[r] as number);
    if (bad.hi < good.lo || good.hi < bad.lo) return true;
  }
  return false;
}

describe('the parity gate over random dense networks', () => {
  it(`refuses no correct export and every observable fault, over ${NETWORKS} networks`, async () => {
    const started = Date.now();
    const random = mulberry32(30);
    let worstOnnx = 0;
    let worstTrainer = 0;
    let widest = 0;
    let deepest = 0;
    const counts = Object.fromEntries(faultKinds.map((k) => [k, { injected: 0, observable: 0, refused: 0 }]));
    const missed: string[] = [];
    for (let seed = 1; seed <= NETWORKS; seed++) {
      const c = randomCase(seed);
      widest = Math.max(widest, ...c.layers.map((l) => l.units));
      deepest = Math.max(deepest, c.layers.length);
      const ref = referenceScores(exportedNetwork(c.layers, c.scaler), c.x, c.nRows, c.nFeatures);
      const trainer = float32Forward(c, 'reverse');
      const exact = exactActivationsAndGradients(c, AIM_ROWS);
      const faults = faultKinds.flatMap((kind) => {
        const fault = aimFault(kind, c, ref, exact, random);
        return fault ? [{ kind, fault }] : [];
      });
      // The correct export and its faulty variants, scored by one session.
      const variants = [{ layers: c.layers, scaler: c.scaler }, ...faults.map((f) => f.fault)];
      const scores = await scoreSideBySide(variants, c);
      const onnx = scores[0] as { probability: Float32Array; label: BigInt64Array };
      const report = judgeParity({
        reference: ref,
        onnxProbability: onnx.probability,
        onnxLabel: onnx.label,
        trainerProbability: trainer,
        threshold: 0.5,
      });
      worstOnnx = Math.max(worstOnnx, report.onnx.boundUsed);
      worstTrainer = Math.max(worstTrainer, report.trainer.boundUsed);

      faults.forEach(({ kind, fault }, k) => {
        const count = counts[kind] as { injected: number; observable: number; refused: number };
        count.injected++;
        let refused = false;
        try {
          judgeParity({
            reference: ref,
            onnxProbability: (scores[k + 1] as { probability: Float32Array }).probability,
            trainerProbability: trainer,
          });
        } catch (error) {
          expect(error).toBeInstanceOf(ExportParityError);
          refused = true;
        }
        if (refused) count.refused++;
        if (observable(c, ref, kind, fault)) {
          count.observable++;
          if (!refused) missed.push(`network ${seed}: ${kind}`);
        }
      });
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `${NETWORKS} networks (widest ${widest}, deepest ${deepest}) in ${seconds.toFixed(1)} s; worst error as a ` +
        `fraction of its bound: onnxruntime ${worstOnnx.toExponential(2)}, reverse-order float32 ` +
        `${worstTrainer.toExponential(2)}; faults ${JSON.stringify(counts)}`,
    );
    expect(widest).toBe(512);
    expect(deepest).toBe(6);
    expect(worstOnnx).toBeLessThan(1);
    expect(worstTrainer).toBeLessThan(1);
    expect(missed).toEqual([]);
    for (const kind of faultKinds) {
      const count = counts[kind] as { injected: number; observable: number; refused: number };
      expect(count.injected).toBeGreaterThan(NETWORKS / 2);
      expect(count.observable / count.injected, kind).toBeGreaterThan(MIN_OBSERVABLE[kind]);
    }
  }, 300_000);
});

async function scoreSideBySide(
  variants: Fault[],
  c: RandomCase,
): Promise<Array<{ probability: Float32Array; label: BigInt64Array }>> {
  const model = sideBySide(
    variants.map((v) =>
      buildOnnxModel({
        layers: v.layers,
        scaler: v.scaler,
        threshold: 0.5,
        metadata: metadata(v.scaler.features),
        opset: 13,
      }),
    ),
  );
  const session = await ort.InferenceSession.create(encodeChecked(model), { intraOpNumThreads: 1 });
  try {
    const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', c.x, [c.nRows, c.nFeatures]) });
    return variants.map((_, k) => ({
      probability: out[`v${k}_${PROBABILITY_OUTPUT}`]?.data as Float32Array,
      label: out[`v${k}_${LABEL_OUTPUT}`]?.data as BigInt64Array,
    }));
  } finally {
    await session.release();
  }
}

/**
 * Share of aimed faults that must be observable in exact arithmetic. Measured with this seed:
 * weight 145/200, bias 122/200, scaler mean 165/200, std 122/200, activation 163/163 (the rest
 * sit in deep or wide networks, where one 1e-3 change moves the logit less than float32 rounding
 * may); the floors leave a margin for another onnxruntime or V8 release.
 */
const MIN_OBSERVABLE: Record<FaultKind, number> = {
  weight: 0.65,
  bias: 0.55,
  mean: 0.75,
  std: 0.55,
  activation: 0.95,
};
