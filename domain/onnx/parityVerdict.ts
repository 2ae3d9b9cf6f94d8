import { ExportParityError, type ParityEngine, type ParityFailure } from './errors';
import {
  boundUsed,
  logitAllowance,
  logitOf,
  probabilityInterval,
  type ReferenceScores,
  SAFETY_FACTOR,
  sigmoid,
} from './reference';

/** One engine's fit to the exact reference over the rows compared. */
export interface EngineFit {
  /** Largest |logit error| as a fraction of its float32 bound (see reference.ts): above 1 it left it. */
  boundUsed: number;
  /** The row (0-based, within the rows compared) where it used most of its bound. */
  worstRow: number;
}

export interface ParityReport {
  /** Held-out rows both engines scored and were compared on. */
  rowsCompared: number;
  /** Of those, the rows judged against the exact reference (see referenceRows.ts); all when absent. */
  rowsJudged?: number;
  /** onnxruntime running the file, against the exact (float64) evaluation of the exported weights. */
  onnx: EngineFit;
  /** The trainer's own predictions (the model that was evaluated), against the same reference. */
  trainer: EngineFit;
  /** Largest logit difference between the two engines as a fraction of both bounds together. */
  disagreementBoundUsed: number;
  /** Largest |p_onnx - p_trainer|, for continuity with earlier reports; not what the gate judges. */
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** The factor the float32 rounding bounds were multiplied by. */
  safetyFactor: number;
  /**
   * With a threshold: rows whose ONNX label differs from the trainer's (p >= threshold). Only
   * rows whose exact probability lies within the bound of the threshold may differ.
   */
  labelDisagreements?: number;
}

export interface ParityEvidence {
  reference: ReferenceScores;
  onnxProbability: ArrayLike<number>;
  trainerProbability: ArrayLike<number>;
  /** The labels the file wrote; checked against its own probabilities and the trainer's labels. */
  onnxLabel?: ArrayLike<bigint>;
  threshold?: number;
  /** 1 for each row the reference was computed for (referenceRows.ts); every row when absent. */
  judged?: Uint8Array;
}

/**
 * The parity verdict. A file is refused (ExportParityError, nothing written) when onnxruntime's
 * output leaves its float32 bound of the exact value on any row, when the two engines disagree by
 * more than both bounds together (a trainer that does not compute what was exported), or when
 * their labels differ on a row whose exact probability is not within the bound of the threshold.
 * A trainer that alone leaves its bound while agreeing with onnxruntime within both bounds is
 * reported, not refused: the file is what is shipped, and it computes the exact function.
 */
export function judgeParity(evidence: ParityEvidence): ParityReport {
  const { reference, onnxProbability, trainerProbability, onnxLabel, threshold, judged } = evidence;
  const nRows = reference.logit.length;
  let rowsJudged = 0;
  const onnx: EngineFit = { boundUsed: 0, worstRow: 0 };
  const trainer: EngineFit = { boundUsed: 0, worstRow: 0 };
  let disagreement = { used: 0, row: 0 };
  let maxAbsDiff = 0;
  let sumAbsDiff = 0;
  let labelDisagreements = 0;
  let badLabel: number | undefined;
  for (let r = 0; r < nRows; r++) {
    const z = reference.logit[r] as number;
    const bound = reference.logitBound[r] as number;
    const po = onnxProbability[r] as number;
    const pt = trainerProbability[r] as number;
    const d = Number.isFinite(po) && Number.isFinite(pt) ? Math.abs(po - pt) : Number.POSITIVE_INFINITY;
    maxAbsDiff = Math.max(maxAbsDiff, d);
    sumAbsDiff += d;
    const isJudged = !judged || judged[r] === 1;
    let usedO = 0;
    if (isJudged) {
      rowsJudged++;
      usedO = boundUsed(po, z, bound);
      const usedT = boundUsed(pt, z, bound);
      if (!(usedO <= onnx.boundUsed)) Object.assign(onnx, { boundUsed: usedO, worstRow: r });
      if (!(usedT <= trainer.boundUsed)) Object.assign(trainer, { boundUsed: usedT, worstRow: r });
      const usedD = disagreementUsed(po, pt, z, bound);
      if (!(usedD <= disagreement.used)) disagreement = { used: usedD, row: r };
    }
    if (threshold !== undefined && onnxLabel) {
      const label = onnxLabel[r] as bigint;
      if (label !== (po >= threshold ? 1n : 0n)) {
        throw new ExportParityError(
          `Row ${r}: the ONNX label ${label} does not follow its own probability ${po} at threshold ${threshold}. ` +
            'Nothing was written; this is a bug in the exporter.',
          failure('onnxruntime', 'label', r, evidence, usedO, nRows, maxAbsDiff),
        );
      }
      if (label !== (pt >= threshold ? 1n : 0n)) {
        labelDisagreements++;
        // An unjudged row here means the caller did not judge every disagreement: refuse it too.
        const { lo, hi } = isJudged ? probabilityInterval(z, bound) : { lo: 1, hi: 0 };
        if (!(lo <= threshold && threshold <= hi) && badLabel === undefined) badLabel = r;
      }
    }
  }
  const report: ParityReport = {
    rowsCompared: nRows,
    ...(judged ? { rowsJudged } : {}),
    onnx,
    trainer,
    disagreementBoundUsed: disagreement.used,
    maxAbsDiff,
    meanAbsDiff: sumAbsDiff / nRows,
    safetyFactor: SAFETY_FACTOR,
    ...(threshold !== undefined && onnxLabel ? { labelDisagreements } : {}),
  };
  if (onnx.boundUsed > 1) {
    throw leftBound('onnxruntime', onnx.worstRow, onnx.boundUsed, evidence, report);
  }
  if (disagreement.used > 1) {
    throw leftBound('both', disagreement.row, disagreement.used, evidence, report);
  }
  if (badLabel !== undefined) {
    const r = badLabel;
    const z = reference.logit[r] as number;
    const { lo, hi } = probabilityInterval(z, reference.logitBound[r] as number);
    throw new ExportParityError(
      `The ONNX file labels held-out row ${r} of ${nRows} ${onnxLabel?.[r]} where the trained model labels it ` +
        `${onnxLabel?.[r] === 1n ? 0 : 1} at threshold ${threshold}, although the exact probability ` +
        `${sigmoid(z)} is not within the float32 bound of the threshold (any float32 engine gives ` +
        `${lo} to ${hi}). Nothing was written; this is a bug in the exporter or a model changed after evaluation.`,
      failure('both', 'label', r, evidence, trainer.boundUsed, nRows, maxAbsDiff),
    );
  }
  return report;
}

/**
 * |logit_o - logit_t| over the sum of the two engines' allowances: the upper one's above the
 * exact logit plus the lower one's below it. Saturated sides allow anything (0).
 */
function disagreementUsed(po: number, pt: number, z: number, bound: number): number {
  if (Number.isNaN(po) || Number.isNaN(pt) || !Number.isFinite(z)) return Number.POSITIVE_INFINITY;
  if (po === pt) return 0;
  const lo = logitOf(Math.min(po, pt));
  const hi = logitOf(Math.max(po, pt));
  const allowed = logitAllowance(z, bound, 1) + logitAllowance(z, bound, -1);
  if (!Number.isFinite(allowed)) return 0;
  return (hi - lo) / allowed;
}

function leftBound(
  engine: ParityEngine,
  row: number,
  used: number,
  evidence: ParityEvidence,
  report: ParityReport,
): ExportParityError {
  const { reference, onnxProbability, trainerProbability } = evidence;
  const z = reference.logit[row] as number;
  const bound = reference.logitBound[row] as number;
  const po = onnxProbability[row] as number;
  const pt = trainerProbability[row] as number;
  const n = report.rowsCompared;
  const fmt = (v: number) => (Number.isFinite(v) ? v.toExponential(3) : String(v));
  const exact = Number.isFinite(z)
    ? `the exact (float64) model gives logit ${z.toPrecision(7)} (probability ${sigmoid(z)})`
    : `the exact (float64) model gives no finite value (${z}; a NaN or infinite feature?)`;
  const what =
    engine === 'onnxruntime'
      ? `onnxruntime gives probability ${po} (logit ${fmt(logitOf(po))}); ${exact}: its logit is off by ` +
        `${fmt(Math.abs(logitOf(po) - z))}, ${fmt(used)} x its float32 rounding bound ${fmt(bound)}`
      : `onnxruntime gives probability ${po} and the trained model ${pt}; ${exact}: the two logits differ by ` +
        `${fmt(Math.abs(logitOf(po) - logitOf(pt)))}, ${fmt(used)} x both float32 rounding bounds together ` +
        `(each ±${fmt(bound)} in the logit, widened by the output rounding; onnxruntime uses ${fmt(report.onnx.boundUsed)} of its bound at its worst row, ` +
        `the trained model ${fmt(report.trainer.boundUsed)})`;
  return new ExportParityError(
    `The ONNX file ${engine === 'onnxruntime' ? 'leaves its float32 bound of the exact model' : 'and the trained model disagree'} ` +
      `at held-out row ${row} of ${n}: ${what}. ` +
      'Nothing was written; this is a bug in the exporter or a model changed after evaluation.',
    failure(engine, 'bound', row, evidence, used, n, report.maxAbsDiff),
  );
}

function failure(
  engine: ParityEngine,
  check: ParityFailure['check'],
  row: number,
  evidence: ParityEvidence,
  used: number,
  rowsCompared: number,
  maxAbsDiff: number,
): ParityFailure {
  const z = evidence.reference.logit[row] as number;
  return {
    engine,
    check,
    worstRow: row,
    boundUsed: used,
    exactLogit: z,
    logitBound: evidence.reference.logitBound[row] as number,
    onnxValue: evidence.onnxProbability[row] as number,
    tfjsValue: evidence.trainerProbability[row] as number,
    rowsCompared,
    maxAbsDiff,
  };
}
