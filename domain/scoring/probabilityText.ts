// Exact powers of ten: every 10^k with k <= 22 is a float64 without rounding.
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const DIGITS = new Uint8Array(9);

/** The reference: nine significant digits, as their shortest reading (trailing zeros dropped). */
export function probabilityText(p: number): string {
  return String(Number(p.toPrecision(9)));
}

/**
 * Writes probabilityText(p) as latin1 at `o` of `out` (15 bytes free) and returns the new offset,
 * without the two strings per row the reference makes. For 1e-6 <= p < 1e9 (a probability's
 * range bar the tiny ones) the nine digits come from one multiplication by an exact power of
 * ten, rounded to an integer: that product is within half an ulp (< 1e-7 at these magnitudes) of
 * the exact p x 10^k, so it rounds to the same integer as toPrecision's exact arithmetic unless
 * its fraction is within 1e-5 of one half, where the reference is asked instead. The digits
 * without trailing zeros are then the shortest text of that nine-digit number (a shorter one
 * would differ from it by 1e-9 relative, far more than the 1e-16 that tells two doubles apart),
 * written as Number's toString writes numbers from 1e-6 up (no exponent). Everything else (0
 * aside) goes to the reference. Tested against it on a stride of every float32 from 0 to 1, at
 * powers of ten and their neighbours, and on random doubles (test/unit/probabilityText.test.ts).
 */
export function writeProbability(out: Buffer, o: number, p: number): number {
  if (!(p >= 1e-6 && p < 1e9)) {
    if (p === 0) {
      out[o] = 48;
      return o + 1;
    }
    return o + out.write(probabilityText(p), o, 'latin1');
  }
  // e = floor(log10(p)), from comparisons (a guess off near a power of ten is caught below).
  let e = -1;
  while (e > -6 && p < 1 / (POW10[-e] as number)) e--;
  while (e < 8 && p >= (e >= -1 ? (POW10[e + 1] as number) : 1 / (POW10[-e - 1] as number))) e++;
  const k = 8 - e;
  const y = k >= 0 ? p * (POW10[k] as number) : p / (POW10[-k] as number);
  const floor = Math.floor(y);
  const fraction = y - floor;
  let n = fraction >= 0.5 ? floor + 1 : floor;
  if ((fraction > 0.49999 && fraction < 0.50001) || n < 1e8 || n >= 1e9) {
    return o + out.write(probabilityText(p), o, 'latin1');
  }
  let digits = 9;
  while (n % 10 === 0) {
    n /= 10;
    digits--;
  }
  for (let i = digits - 1; i >= 0; i--) {
    const q = Math.floor(n / 10);
    DIGITS[i] = 48 + (n - q * 10);
    n = q;
  }
  const point = e + 1;
  if (point <= 0) {
    out[o++] = 48;
    out[o++] = 46;
    for (let z = 0; z < -point; z++) out[o++] = 48;
    for (let i = 0; i < digits; i++) out[o++] = DIGITS[i] as number;
  } else if (point < digits) {
    for (let i = 0; i < point; i++) out[o++] = DIGITS[i] as number;
    out[o++] = 46;
    for (let i = point; i < digits; i++) out[o++] = DIGITS[i] as number;
  } else {
    for (let i = 0; i < digits; i++) out[o++] = DIGITS[i] as number;
    for (let z = digits; z < point; z++) out[o++] = 48;
  }
  return o;
}
