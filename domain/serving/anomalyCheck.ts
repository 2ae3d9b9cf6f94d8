import { REFERENCE_ROWS, referenceRows } from '../import/checkImportedOnnx';
import { type AutoencoderWeights, reconstructionErrors } from '../ml/autoencoder';
import { categoryTexts, numericPart } from '../ml/categoricalEncoding';
import type { StandardScalerParams } from '../ml/scalerTypes';
import { ANOMALY_PARITY_TOLERANCE } from '../onnx/anomalyExporter';
import type { AnomalyScorer } from '../scoring/anomalyScorer';
import { probeRows, type VersionCheck } from './versionCheck';

/** What an anomaly version is checked against: the autoencoder and scaler it was trained as. */
export interface AnomalyReference {
  weights: AutoencoderWeights;
  scaler: StandardScalerParams;
  threshold: number;
}

/**
 * Probe rows as a snapshot holds them (categorical cells as codes): numeric features seeded a unit
 * or two around the scaler's centre (row 0 all zeros), each categorical one cycling through the
 * categories seen in training.
 */
export function anomalyProbeRows(scaler: StandardScalerParams, nFeatures: number): Float32Array {
  return probeRows({ center: scaler.mean, divisor: scaler.std }, nFeatures, scaler.categorical);
}

/**
 * Scores the probe rows through the warm session about to answer and compares them with the exact
 * (float64) autoencoder the version was trained as, within the export's parity tolerance
 * (domain/onnx/anomalyExporter.ts): anomaly_score, and predicted_outlier = threshold - score. A
 * version with no trained model to compare with (an import) is run on the probe rows and must
 * give finite outputs, one per row. Also warms the session.
 */
export async function checkAnomalyVersion(
  scorer: AnomalyScorer,
  reference: AnomalyReference | undefined,
  nNumeric: number,
): Promise<VersionCheck> {
  if (!reference) {
    // Categorical inputs get a text no training saw: the graph must score it (as the rarest), not fail.
    const texts = scorer.categorical.map(() => new Array<string>(REFERENCE_ROWS).fill('slipway-probe'));
    const { score, outlier } = await scorer.score(referenceRows(undefined, nNumeric), REFERENCE_ROWS, texts);
    const bad = [...score, ...outlier].findIndex((v) => !Number.isFinite(v));
    const base = { rows: REFERENCE_ROWS, source: 'outputs', worstBoundUsed: 0 } as const;
    return bad < 0
      ? { passed: true, ...base }
      : {
          passed: false,
          ...base,
          reason: `on probe row ${bad % REFERENCE_ROWS} the served file gives a value that is not finite`,
        };
  }
  const { weights, scaler, threshold } = reference;
  const nCols = weights.nFeatures;
  const raw = anomalyProbeRows(scaler, nCols);
  const encoding = scaler.categorical?.columns.length ? scaler.categorical : undefined;
  const { score, outlier } = await scorer.score(
    numericPart(encoding, raw, REFERENCE_ROWS, nCols),
    REFERENCE_ROWS,
    encoding ? categoryTexts(encoding, raw, REFERENCE_ROWS, nCols) : [],
  );
  const exact = reconstructionErrors(weights, scaler, raw, REFERENCE_ROWS);
  let worst = { used: 0, row: 0 };
  for (let r = 0; r < REFERENCE_ROWS; r++) {
    const e = exact[r] as number;
    const allowed = ANOMALY_PARITY_TOLERANCE * (1 + Math.abs(e));
    const used =
      Math.max(Math.abs((score[r] as number) - e), Math.abs((outlier[r] as number) - (threshold - e))) /
      allowed;
    if (!(used <= worst.used)) worst = { used, row: r };
  }
  const base = { rows: REFERENCE_ROWS, source: 'trained', worstBoundUsed: worst.used } as const;
  if (worst.used <= 1) return { passed: true, ...base };
  const r = worst.row;
  return {
    passed: false,
    ...base,
    reason:
      `on probe row ${r} the served file gives anomaly_score ${score[r]} and predicted_outlier ${outlier[r]}, but the ` +
      `version's trained autoencoder gives ${(exact[r] as number).toPrecision(7)} and ${(threshold - (exact[r] as number)).toPrecision(7)}: ` +
      `${worst.used.toFixed(1)} x the tolerance ${ANOMALY_PARITY_TOLERANCE} x (1 + |score|)`,
  };
}
