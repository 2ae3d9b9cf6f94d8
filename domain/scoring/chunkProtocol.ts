import type { RowPlan } from '../data/csvRows';
import {
  DatasetError,
  type DatasetErrorDetails,
  type DatasetErrorType,
  datasetErrorTypes,
} from '../data/errors';
import type { ChunkScorerSetup } from './chunkScorer';
import { ScoringError, type ScoringErrorType, scoringErrorTypes } from './errors';

/** What a scoring thread of chunkScoring.ts is started with. */
export interface ChunkThreadSetup extends ChunkScorerSetup {
  onnx: Uint8Array;
  inputName: string;
  outputName: string;
  intraOpThreads: number;
}

/** A chunk of whole lines, starting at line `line` of the file. */
export interface ChunkJob {
  id: number;
  bytes: Uint8Array;
  line: number;
  /** What the header asked for: sent with the first chunk each thread gets. */
  plan?: RowPlan;
}

export type ChunkReply =
  /** The chunk's output lines, in its order. */
  | { id: number; output: Uint8Array; rows: number; positives: number }
  /** A line in it the byte scanner does not take: the caller reads on from the chunk's start. */
  | { id: number; refused: true }
  | { id: number; error: ErrorData };

export interface ErrorData {
  name: string;
  message: string;
  type?: string;
  details?: unknown;
}

/** An error as plain data, to cross from a thread. */
export function errorAsData(error: unknown): ErrorData {
  const e = error instanceof Error ? error : new Error(String(error));
  const { type, details } = e as Error & { type?: string; details?: unknown };
  return { name: e.name, message: e.message, type, details };
}

/** The thread's error as the caller would have seen it had the chunk been read on its thread. */
export function reviveError(data: ErrorData): Error {
  if (data.type && data.name === data.type) {
    if ((datasetErrorTypes as readonly string[]).includes(data.type))
      return new DatasetError(
        data.type as DatasetErrorType,
        data.message,
        data.details as DatasetErrorDetails | undefined,
      );
    if ((scoringErrorTypes as readonly string[]).includes(data.type))
      return new ScoringError(
        data.type as ScoringErrorType,
        data.message,
        data.details as Record<string, unknown> | undefined,
      );
  }
  const error = new Error(data.message);
  if (data.name !== 'Error') error.name = data.name;
  return error;
}
