// Exact powers of ten: every 10^k with k <= 22 is a float64 without rounding.
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const SPACE = 32;
const MAX_EXACT = 2 ** 53 - 1;
const TAB = 9;

/** Where the last scanDecimal stopped: the first byte after the number and its trailing spaces. */
export const scanned = { end: 0 };

/**
 * The number a cell's bytes spell, read straight from the buffer, or NaN when this fast reading
 * cannot vouch for the result; the caller then hands the cell's text to the general parser
 * (cells.ts), which gives the value or the error. NaN is never a value a cell can have, so it is
 * a safe "not handled" answer.
 *
 * Handled: what cells.ts accepts as a number (optional sign, digits with an optional point,
 * an optional exponent; spaces and tabs around it), when the result is exact by construction:
 * digits that make an integer below 2^53 (so exact in float64; 15 digits always do) scaled by 10^k with
 * |k| <= 22 (also exact). One multiplication or division of two exact values is correctly
 * rounded by IEEE 754, and so is Number(): both give the same float64 (Clinger's fast path).
 * Anything else (17 digits, 1e-30, "0x1F", "NaN", "", text) returns NaN.
 */
export function parseDecimalBytes(buf: Uint8Array, start: number, end: number): number {
  const value = scanDecimal(buf, start, end);
  return scanned.end === end ? value : Number.NaN;
}

/**
 * parseDecimalBytes for a cell whose end is not known yet: reads a number from `start`, stopping
 * at the first byte that cannot continue it (or at `end`), and leaves that position in
 * `scanned.end`. The cell is the number only if a separator or the line's end is there.
 */
export function scanDecimal(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && (buf[i] === SPACE || buf[i] === TAB)) i++;
  let negative = false;
  if (i < end) {
    const c = buf[i] as number;
    if (c === 45) {
      negative = true;
      i++;
    } else if (c === 43) i++;
  }
  let mantissa = 0;
  let digits = 0;
  let exponent = 0;
  for (; i < end; i++) {
    const d = (buf[i] as number) - 48;
    if (d < 0 || d > 9) break;
    mantissa = mantissa * 10 + d;
    digits++;
  }
  if (i < end && buf[i] === 46) {
    for (i++; i < end; i++) {
      const d = (buf[i] as number) - 48;
      if (d < 0 || d > 9) break;
      mantissa = mantissa * 10 + d;
      digits++;
      exponent--;
    }
  }
  let ok = digits > 0;
  if (ok && i < end && ((buf[i] as number) | 32) === 101) {
    i++;
    let sign = 1;
    if (i < end && (buf[i] === 45 || buf[i] === 43)) sign = buf[i++] === 45 ? -1 : 1;
    let e = 0;
    let eDigits = 0;
    for (; i < end; i++) {
      const d = (buf[i] as number) - 48;
      if (d < 0 || d > 9) break;
      e = e * 10 + d;
      eDigits++;
    }
    if (eDigits === 0 || eDigits > 4) ok = false;
    exponent += sign * e;
  }
  while (i < end && (buf[i] === SPACE || buf[i] === TAB)) i++;
  scanned.end = i;
  // Below 2^53 at the end means every step of mantissa * 10 + d was an exact integer.
  if (!ok || mantissa > MAX_EXACT || exponent > 22 || exponent < -22) return Number.NaN;
  let value = mantissa;
  if (exponent > 0) value = mantissa * (POW10[exponent] as number);
  else if (exponent < 0) value = mantissa / (POW10[-exponent] as number);
  return negative ? -value : value;
}
