import { REFERENCE_ROWS, referenceRows } from '../import/checkImportedOnnx';
import { readDenseGraph } from '../import/denseGraph';
import {
  type CategoricalEncoding,
  categoryTexts,
  encodeCategories,
  numericPart,
} from '../ml/categoricalEncoding';
import { decodeCheckpointArrays } from '../ml/checkpoint';
import type { ModelSpec } from '../ml/modelSpec';
import type { StandardScalerParams } from '../ml/scalerTypes';
import type { DenseLayerWeights } from '../onnx/denseLayers';
import { decodeModel } from '../onnx/onnxProto';
import { exportedNetwork } from '../onnx/parity';
import { boundUsed, type DenseNetwork, type InputScaling, logitOf, referenceScores } from '../onnx/reference';
import type { BinaryScorer } from '../scoring/binaryScorer';

/**
 * What a version is checked against before it answers anything: the exact (float64) network the
 * version's record says it is, and where that came from.
 * - `trained`: the trained weights and the scaler the version was registered with (its `model` and
 *   `scaler` artifacts), the very network its export's parity gate judged the file against; a
 *   served file that does not compute them (a swapped or damaged artifact, a runtime that computes
 *   it wrongly on this machine) fails.
 * - `graph`: an imported file's own dense layers, as `import onnx` checked it.
 */
export interface CheckReference {
  network: DenseNetwork;
  source: 'trained' | 'graph';
  /**
   * A version trained with categorical features: how its codes become the numbers the network
   * takes (the scaler's encoding); the served file takes those features as text instead.
   */
  categorical?: CategoricalEncoding;
}

/**
 * Probe rows as a snapshot holds them: every feature seeded a unit or two around the scaler's
 * centre (row 0 all zeros, see referenceRows), and each categorical one, when `encoding` names
 * some, cycling through the codes of the categories seen in training instead.
 */
export function probeRows(
  scaling: InputScaling | undefined,
  nFeatures: number,
  encoding?: CategoricalEncoding,
): Float32Array {
  const x = referenceRows(scaling, nFeatures);
  for (const column of encoding?.columns ?? []) {
    for (let r = 0; r < REFERENCE_ROWS; r++) x[r * nFeatures + column.index] = r % column.categories.length;
  }
  return x;
}

/** The version's trained network from its checkpoint (no tfjs: plain arrays) and its scaler. */
export function trainedReference(
  spec: ModelSpec,
  checkpoint: Uint8Array,
  scaler: StandardScalerParams,
): CheckReference {
  const { weights } = decodeCheckpointArrays(checkpoint);
  const dense = spec.layers.filter((l) => l.type === 'dense');
  if (weights.length !== 2 * dense.length) {
    throw new Error(
      `the trained model has ${weights.length} weight tensors, but its spec has ${dense.length} dense layers (a kernel and a bias each)`,
    );
  }
  let inputs = scaler.features.length;
  const layers: DenseLayerWeights[] = dense.map((spec, i) => {
    const kernel = weights[2 * i] as { shape: number[]; data: Float32Array };
    const bias = weights[2 * i + 1] as { shape: number[]; data: Float32Array };
    if (kernel.shape[0] !== inputs || kernel.shape[1] !== spec.units || bias.data.length !== spec.units) {
      throw new Error(
        `dense layer ${i} of the trained model is [${kernel.shape.join(', ')}] + [${bias.shape.join(', ')}], ` +
          `not [${inputs}, ${spec.units}] + [${spec.units}] as its spec says`,
      );
    }
    const layer = {
      name: `dense_${i}`,
      inputs,
      units: spec.units,
      activation: spec.activation,
      kernel: kernel.data,
      bias: bias.data,
    };
    inputs = spec.units;
    return layer;
  });
  return {
    network: exportedNetwork(layers, scaler),
    source: 'trained',
    ...(scaler.categorical?.columns.length ? { categorical: scaler.categorical } : {}),
  };
}

/** An imported file's own dense layers, or why they cannot be read (not a dense network). */
export function graphReference(
  onnx: Uint8Array,
  outputName: string,
  nFeatures: number,
): CheckReference | { reason: string } {
  const reading = readDenseGraph(decodeModel(onnx), outputName, nFeatures);
  return 'reason' in reading ? { reason: reading.reason } : { network: reading.network, source: 'graph' };
}

/**
 * `source` `outputs`: an imported anomaly version, only run on the probe rows for finite outputs
 * (domain/serving/anomalyCheck.ts). For anomaly versions `worstBoundUsed` is the share of the
 * export's parity tolerance used (above 1 fails), not of a float32 rounding bound.
 */
export type VersionCheck =
  | { passed: true; rows: number; source: CheckReference['source'] | 'outputs'; worstBoundUsed: number }
  | {
      passed: false;
      rows: number;
      source: CheckReference['source'] | 'outputs';
      worstBoundUsed: number;
      reason: string;
    };

/**
 * Scores seeded probe rows (around the network's scaler centre, as `import onnx` does; row 0 all
 * zeros) through the warm sessions that are about to answer (a version's main-thread and model-
 * thread sessions, ServingScorer.sessions), and compares each output with the exact evaluation of
 * the recorded network, computed once: it must stay within the float32 rounding bound the export's
 * parity gate uses (domain/onnx/reference.ts). The check is the worst session's. Also warms them. A version with
 * categorical features is fed their categories as text, as requests send them, and the network
 * their encoding, as the export's parity gate does. `nFeatures` counts every feature.
 */
export async function checkVersion(
  sessions: BinaryScorer | readonly BinaryScorer[],
  reference: CheckReference,
  nFeatures: number,
): Promise<VersionCheck> {
  const encoding = reference.categorical;
  const x = probeRows(reference.network.scaling, nFeatures, encoding);
  const exact = referenceScores(
    reference.network,
    encoding ? encodeCategories(encoding, x, nFeatures) : x,
    REFERENCE_ROWS,
    nFeatures,
  );
  let worst = { used: 0, row: 0, p: Number.NaN };
  for (const session of 'score' in sessions ? [sessions] : sessions) {
    const scores = encoding
      ? await session.score(
          numericPart(encoding, x, REFERENCE_ROWS, nFeatures),
          REFERENCE_ROWS,
          categoryTexts(encoding, x, REFERENCE_ROWS, nFeatures),
        )
      : await session.score(x, REFERENCE_ROWS);
    for (let r = 0; r < REFERENCE_ROWS; r++) {
      const p = scores[r] as number;
      const used = boundUsed(p, exact.logit[r] as number, exact.logitBound[r] as number);
      if (!(used <= worst.used)) worst = { used, row: r, p };
    }
  }
  const base = { rows: REFERENCE_ROWS, source: reference.source, worstBoundUsed: worst.used };
  if (worst.used <= 1) return { passed: true, ...base };
  const { row: r, p } = worst;
  return {
    passed: false,
    ...base,
    reason:
      `on probe row ${r} the served file gives ${p} (logit ${logitOf(p).toPrecision(7)}), but the ` +
      `${reference.source === 'trained' ? "version's trained weights and scaler give" : "file's own dense layers give"} ` +
      `logit ${(exact.logit[r] as number).toPrecision(7)}: off by ${worst.used.toExponential(3)} x the float32 bound ` +
      `${(exact.logitBound[r] as number).toExponential(3)}`,
  };
}
