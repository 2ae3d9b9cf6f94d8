/**
 * Successive halving (Jamieson and Talwalkar, 2016): every trial trains a few epochs; the best
 * 1/eta by validation loss go on to train eta times as long (continuing from their checkpoint),
 * the rest stop with the reason; until one rung trains to the full epochs. Pure: the tune workflow
 * plans and ranks with it.
 */

export interface Rung {
  /** Epochs a trial has trained when this rung ends (cumulative). */
  epochs: number;
  /** Trials that train in this rung. */
  trials: number;
}

/**
 * The rungs for `n` trials and at most `maxEpochs`: budgets minEpochs * eta^k (the last one
 * maxEpochs), each rung keeping floor(n / eta^k) trials (at least one). A single survivor goes
 * straight to maxEpochs.
 */
export function halvingPlan(n: number, maxEpochs: number, eta: number, minEpochs?: number): Rung[] {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(maxEpochs) && maxEpochs >= 1 && eta >= 2)) {
    throw new RangeError(
      `halving needs n >= 1, maxEpochs >= 1 and eta >= 2 (got ${n}, ${maxEpochs}, ${eta})`,
    );
  }
  const halvings = Math.floor(Math.log(n) / Math.log(eta) + 1e-9);
  const first = Math.min(maxEpochs, minEpochs ?? Math.max(1, Math.floor(maxEpochs / eta ** halvings)));
  const rungs: Rung[] = [];
  for (let k = 0; ; k++) {
    const trials = Math.max(1, Math.floor(n / eta ** k + 1e-9));
    const epochs = trials === 1 ? maxEpochs : Math.min(maxEpochs, first * eta ** k);
    rungs.push({ epochs, trials });
    if (epochs >= maxEpochs) return rungs;
  }
}

export interface RungEntry {
  trial: number;
  /** Validation loss at the end of the rung; NaN or missing ranks last. */
  objective: number | undefined;
}

export interface RungRanking {
  /** Trials that go on, best first. */
  promoted: number[];
  stopped: Array<{ trial: number; rank: number; reason: string }>;
}

/** Orders a rung's trials by validation loss (lower first; ties by trial number) and keeps `keep`. */
export function rankRung(
  entries: readonly RungEntry[],
  keep: number,
  describe: { rung: number; epochs: number; nextEpochs: number },
): RungRanking {
  const ranked = rankByObjective(entries);
  const promoted = ranked.slice(0, keep).map((e) => e.trial);
  const cutoff = ranked[Math.min(keep, ranked.length) - 1]?.objective;
  const stopped = ranked.slice(keep).map((e, i) => ({
    trial: e.trial,
    rank: keep + i + 1,
    reason:
      e.objective === undefined || !Number.isFinite(e.objective)
        ? `halving rung ${describe.rung} (epoch ${describe.epochs}): no finite validation loss; stopped`
        : `halving rung ${describe.rung} (epoch ${describe.epochs}): validation loss ${e.objective.toPrecision(4)} ranked ` +
          `${keep + i + 1} of ${ranked.length}; only the best ${keep} (up to ${cutoff?.toPrecision(4)}) ` +
          `go on to epoch ${describe.nextEpochs}`,
  }));
  return { promoted, stopped };
}

/** Lower validation loss first; non-finite last; ties by trial number, so the order never depends on timing. */
export function rankByObjective<T extends RungEntry>(entries: readonly T[]): T[] {
  const key = (e: RungEntry) =>
    e.objective !== undefined && Number.isFinite(e.objective) ? e.objective : Number.POSITIVE_INFINITY;
  return [...entries].sort((a, b) => key(a) - key(b) || a.trial - b.trial);
}
