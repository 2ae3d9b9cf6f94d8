// Exact powers of ten: every 10^k with k <= 22 is a float64 without rounding.
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const SPACE = 32;
const TAB = 9;

/**
 * The number a cell's bytes spell, read straight from the buffer, or NaN when this fast reading
 * cannot vouch for the result; the caller then hands the cell's text to the general parser
 * (cells.ts), which gives the value or the error. NaN is never a value a cell can have, so it is
 * a safe "not handled" answer.
 *
 * Handled: what cells.ts accepts as a number (optional sign, digits with an optional point,
 * an optional exponent; spaces and tabs around it), when the result is exact by construction:
 * at most 15 significant digits (an integer below 2^53, so exact in float64) scaled by 10^k with
 * |k| <= 22 (also exact). One multiplication or division of two exact values is correctly
 * rounded by IEEE 754, and so is Number(): both give the same float64 (Clinger's fast path).
 * Anything else (17 digits, 1e-30, "0x1F", "NaN", "", text) returns NaN.
 */
export function parseDecimalBytes(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let stop = end;
  while (i < stop && (buf[i] === SPACE || buf[i] === TAB)) i++;
  while (stop > i && (buf[stop - 1] === SPACE || buf[stop - 1] === TAB)) stop--;
  let negative = false;
  if (i < stop) {
    const c = buf[i] as number;
    if (c === 45) {
      negative = true;
      i++;
    } else if (c === 43) i++;
  }
  let mantissa = 0;
  let significant = 0;
  let digits = 0;
  let exponent = 0;
  for (; i < stop; i++) {
    const d = (buf[i] as number) - 48;
    if (d < 0 || d > 9) break;
    if (significant > 0 || d !== 0) significant++;
    mantissa = mantissa * 10 + d;
    digits++;
  }
  if (i < stop && buf[i] === 46) {
    for (i++; i < stop; i++) {
      const d = (buf[i] as number) - 48;
      if (d < 0 || d > 9) break;
      if (significant > 0 || d !== 0) significant++;
      mantissa = mantissa * 10 + d;
      digits++;
      exponent--;
    }
  }
  if (digits === 0) return Number.NaN;
  if (i < stop && ((buf[i] as number) | 32) === 101) {
    i++;
    let sign = 1;
    if (i < stop && (buf[i] === 45 || buf[i] === 43)) sign = buf[i++] === 45 ? -1 : 1;
    let e = 0;
    let eDigits = 0;
    for (; i < stop; i++) {
      const d = (buf[i] as number) - 48;
      if (d < 0 || d > 9) break;
      e = e * 10 + d;
      eDigits++;
    }
    if (eDigits === 0 || eDigits > 4) return Number.NaN;
    exponent += sign * e;
  }
  if (i !== stop || significant > 15) return Number.NaN;
  let value: number;
  if (exponent === 0) value = mantissa;
  else if (exponent > 0) {
    if (exponent > 22) return Number.NaN;
    value = mantissa * (POW10[exponent] as number);
  } else {
    if (exponent < -22) return Number.NaN;
    value = mantissa / (POW10[-exponent] as number);
  }
  return negative ? -value : value;
}
