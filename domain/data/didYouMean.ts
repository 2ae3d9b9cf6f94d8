/**
 * "Did you mean" for column names: the header name a mistyped one most likely meant. A name that
 * differs only in case wins outright (`isfraud` for `IsFraud`); otherwise the closest name within
 * two edits, for names long enough that two edits do not make anything match.
 */
export function closestName(wanted: string, names: readonly string[]): string | undefined {
  const lower = wanted.toLowerCase();
  const sameButCase = names.find((n) => n.toLowerCase() === lower);
  if (sameButCase !== undefined) return sameButCase;
  if (wanted.length < 4) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** ` Did you mean "IsFraud"?` (several names: `"IsFraud" for "isfraud", ...`), or "" when nothing is close. */
export function didYouMean(wanted: readonly string[], names: readonly string[]): string {
  const matches = wanted.flatMap((w) => {
    const match = closestName(w, names);
    return match === undefined ? [] : [{ w, match }];
  });
  if (matches.length === 0) return '';
  if (wanted.length === 1) return ` Did you mean "${matches[0]?.match}"?`;
  return ` Did you mean ${matches.map((m) => `"${m.match}" for "${m.w}"`).join(', ')}?`;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}
