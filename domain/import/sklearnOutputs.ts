import { decodeModel, type ModelDef, type ValueInfo } from '../onnx/onnxProto';
import { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from './anomalyConvention';
import { OnnxImportError } from './errors';
import { extendGraph } from './extendGraph';

export { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from './anomalyConvention';

/** What a version predicts: a 0/1 label (with a probability), or how unusual a row is. */
export type ModelKind = 'classifier' | 'anomaly';

/** The output skl2onnx gives every outlier detector (IsolationForest, OneClassSVM, LocalOutlierFactor). */
export const SKLEARN_OUTLIER_SCORES = 'scores';

/** How the stored file differs from the one handed over (recorded in the version's import facts). */
export interface OutputAdaptation {
  description: string;
  addedOutputs: string[];
}

export interface AdaptedOnnx {
  bytes: Uint8Array;
  model: ModelDef;
  /** The output to read; for a classifier the exposed probability tensor when one was named. */
  outputName?: string;
  adaptation?: OutputAdaptation;
}

/**
 * Makes a scikit-learn export readable the way Slipway scores, adding outputs and never changing
 * or removing anything the file computes (its own outputs stay, for whoever reads them):
 *
 * - classifier: skl2onnx's default ends in a ZipMap node whose output is a sequence of maps,
 *   which neither `apply` nor most runtimes' tensor APIs read. The float [N, classes] tensor that
 *   feeds the ZipMap is added as a graph output; a ZipMap output named with --output-name is read
 *   through that tensor (the positive class column, as for any [N, 2] output).
 * - anomaly: skl2onnx's outlier exports give `scores` = decision_function (negative for outliers,
 *   threshold 0). `anomaly_score` = -scores and `predicted_outlier` = scores are added, so the
 *   file has the same outputs and convention as an anomaly version trained here.
 */
export function adaptSklearnOutputs(
  bytes: Uint8Array,
  model: ModelDef,
  kind: ModelKind,
  outputName: string | undefined,
): AdaptedOnnx {
  return kind === 'anomaly'
    ? adaptOutlierScores(bytes, model, outputName)
    : exposeZipMapInputs(bytes, model, outputName);
}

function graphOutputs(model: ModelDef): ValueInfo[] {
  return model.graph.output ?? [];
}

function exposeZipMapInputs(bytes: Uint8Array, model: ModelDef, outputName: string | undefined): AdaptedOnnx {
  const outputs = new Set(graphOutputs(model).map((o) => o.name));
  const zipMaps = (model.graph.node ?? []).filter(
    (n) => n.opType === 'ZipMap' && outputs.has(n.output[0] as string) && n.input[0] !== undefined,
  );
  if (zipMaps.length === 0) return { bytes, model, outputName };
  const exposed = zipMaps.map((n) => ({ map: n.output[0] as string, tensor: n.input[0] as string }));
  const added = exposed.filter((e) => !outputs.has(e.tensor));
  const chosen = exposed.find((e) => e.map === outputName);
  const readName = chosen ? chosen.tensor : outputName;
  if (added.length === 0) return { bytes, model, outputName: readName };
  const newBytes = extendGraph(bytes, {
    outputs: added.map((e) => ({
      name: e.tensor,
      type: {
        tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimParam: 'classes' }] } },
      },
    })),
  });
  return {
    bytes: newBytes,
    model: decodeModel(newBytes),
    outputName: readName,
    adaptation: {
      description:
        `exposed the float probability tensor${added.length > 1 ? 's' : ''} ${added.map((e) => `"${e.tensor}"`).join(', ')} ` +
        `that feed${added.length > 1 ? '' : 's'} the ZipMap output ${added.map((e) => `"${e.map}"`).join(', ')} as a graph output; ` +
        'nothing else changed',
      addedOutputs: added.map((e) => e.tensor),
    },
  };
}

function adaptOutlierScores(bytes: Uint8Array, model: ModelDef, outputName: string | undefined): AdaptedOnnx {
  const outputs = graphOutputs(model);
  const names = outputs.map((o) => o.name);
  if (names.includes(ANOMALY_SCORE_OUTPUT) && names.includes(PREDICTED_OUTLIER_OUTPUT)) {
    // Already in Slipway's convention (an anomaly version exported here and imported back).
    return { bytes, model, outputName: ANOMALY_SCORE_OUTPUT };
  }
  const scoresName = outputName ?? SKLEARN_OUTLIER_SCORES;
  const scores = outputs.find((o) => o.name === scoresName);
  if (scores?.type?.tensorType?.elemType !== 1) {
    throw new OnnxImportError(
      'UnsupportedModelOutput',
      `An anomaly import reads a float decision-function output, negative for outliers (skl2onnx names it ` +
        `"${SKLEARN_OUTLIER_SCORES}"), or the outputs "${ANOMALY_SCORE_OUTPUT}" and "${PREDICTED_OUTLIER_OUTPUT}" ` +
        `of a Slipway export; the file has ${names.map((n) => `"${n}"`).join(', ')}` +
        `${scores ? ` and "${scoresName}" is not a float tensor` : ''}. Name the decision-function output with --output-name.`,
      { outputs: names, wanted: scoresName },
    );
  }
  const newBytes = extendGraph(bytes, {
    nodes: [
      { name: 'slipway_anomaly_score', opType: 'Neg', input: [scoresName], output: [ANOMALY_SCORE_OUTPUT] },
      {
        name: 'slipway_predicted_outlier',
        opType: 'Identity',
        input: [scoresName],
        output: [PREDICTED_OUTLIER_OUTPUT],
      },
    ],
    outputs: [
      { name: ANOMALY_SCORE_OUTPUT, type: scores.type },
      { name: PREDICTED_OUTLIER_OUTPUT, type: scores.type },
    ],
  });
  return {
    bytes: newBytes,
    model: decodeModel(newBytes),
    outputName: ANOMALY_SCORE_OUTPUT,
    adaptation: {
      description:
        `added "${ANOMALY_SCORE_OUTPUT}" = -"${scoresName}" (higher is more anomalous, outlier above 0) and ` +
        `"${PREDICTED_OUTLIER_OUTPUT}" = "${scoresName}" (the decision function: negative for outliers); nothing else changed`,
      addedOutputs: [ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT],
    },
  };
}
