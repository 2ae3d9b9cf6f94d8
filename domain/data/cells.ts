import { datasetError, where } from './errors';

// A plain decimal or scientific number. Number() alone would accept '', ' ', '0x1F', '0b1' and
// 'Infinity', and parseFloat would accept '12abc'.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
// What spreadsheets and data frames write for a missing value.
const MISSING_MARKER = /^(na|n\/a|#n\/a|nan|null|none|nil|\?|-)$/i;
/** Largest finite float32; anything beyond becomes Infinity in the snapshot. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** A cell's text for a message: quoted and escaped (a line break shows as \n), cut at 40 characters. */
export function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

/** Where a cell is, for messages. */
export interface CellPlace {
  file: string;
  row: number;
  column: string;
}

function emptyValue(place: CellPlace) {
  const { file, row, column } = place;
  return datasetError(
    'EmptyValue',
    `${where(file, row, column)}: the value is empty. Fill in or drop rows with missing values before extracting.`,
    place,
  );
}

/** A feature cell as a finite number that float32 can hold; anything else is a DatasetError. */
export function parseFeatureCell(raw: string, place: CellPlace): number {
  const { file, row, column } = place;
  const text = raw.trim();
  if (text === '') throw emptyValue(place);
  if (NON_FINITE.test(text)) {
    throw datasetError(
      'NonFiniteValue',
      `${where(file, row, column)}: ${shown(text)} is not a finite number. Replace NaN and infinite values ` +
        '(or drop those rows) before extracting.',
      place,
    );
  }
  if (!NUMBER.test(text)) {
    const hint = MISSING_MARKER.test(text)
      ? 'It looks like a missing-value marker: fill in or drop rows with missing values.'
      : 'A numeric feature must hold numbers: name a text column with --categorical (anomaly runs), or leave it out of the feature list (--features).';
    throw datasetError(
      'NonNumericValue',
      `${where(file, row, column)}: ${shown(text)} is not a number. ${hint}`,
      place,
    );
  }
  const value = Number(text);
  if (!Number.isFinite(value)) {
    throw datasetError(
      'NonFiniteValue',
      `${where(file, row, column)}: ${shown(text)} is too large for a 64-bit float (it reads as infinity).`,
      place,
    );
  }
  if (Math.abs(value) > FLOAT32_MAX) {
    throw datasetError(
      'ValueOutOfRange',
      `${where(file, row, column)}: ${text} is beyond the float32 range (±3.4e38) that training uses, so it ` +
        'would become infinity. Rescale the column (for example to other units or a logarithm).',
      place,
    );
  }
  return value;
}

/**
 * A categorical cell as its trimmed text (what the category is, in training and at scoring alike);
 * an empty cell is refused as a numeric one is.
 */
export function parseCategoryCell(raw: string, place: CellPlace): string {
  const text = raw.trim();
  if (text === '') throw emptyValue(place);
  return text;
}

const TRUE = /^true$/i;
const FALSE = /^false$/i;

/**
 * A target cell as 0 or 1. Accepted: any numeric spelling of 0 or 1 ("0", "1", "1.0", "1e0") and
 * true/false in any case (what data frames write for boolean columns), true being the positive
 * class. Anything else (-1/1, yes/no, 2, text) is refused rather than guessed, because guessing
 * which value is the positive class silently inverts a model.
 */
export function parseLabelCell(raw: string, place: CellPlace): 0 | 1 {
  const text = raw.trim();
  if (text === '') throw emptyValue(place);
  if (TRUE.test(text)) return 1;
  if (FALSE.test(text)) return 0;
  if (NUMBER.test(text)) {
    const value = Number(text);
    if (value === 0 || value === 1) return value === 1 ? 1 : 0;
  }
  const { file, row, column } = place;
  throw datasetError(
    'TargetNotBinary',
    `${where(file, row, column)}: target value ${shown(text)} is not 0 or 1. ` +
      'Slipway trains binary classifiers: map the positive class to 1 (or true) and every other value to 0 (or false).',
    place,
  );
}
