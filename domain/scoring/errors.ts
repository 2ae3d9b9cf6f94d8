export const scoringErrorTypes = [
  /** The file lacks one or more of the model's feature columns (details: missing, header). */
  'MissingFeatureColumn',
  /** The file already has a column that scoring adds, e.g. the output of an earlier run. */
  'OutputColumnClash',
  /** `outputName` names no output of the model. */
  'UnknownModelOutput',
  /** The chosen output is not float probabilities of a binary classifier ([N], [N, 1] or [N, 2]). */
  'UnsupportedModelOutput',
  /** The model does not take one float tensor [N, features] (several inputs, another width). */
  'ModelInputMismatch',
  /** The bytes are not an ONNX model onnxruntime can open. */
  'InvalidModel',
  /** The output path's folder does not exist. */
  'OutputFolderMissing',
  /** `apply --explain` on a model whose graph is not a dense network with a scaler (the method needs both). */
  'NotExplainable',
  /** A bad threshold, an empty or repeated feature list, a bad batch size, no input or output. */
  'InvalidScoringOptions',
] as const;
export type ScoringErrorType = (typeof scoringErrorTypes)[number];

/**
 * Problems with a file to score or the model asked to score it. Never worth retrying: the same
 * file and model fail the same way. Problems with cells and rows are DatasetErrors (domain/data).
 */
export class ScoringError extends Error {
  readonly retryable = false;
  constructor(
    readonly type: ScoringErrorType,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = type;
  }
}
