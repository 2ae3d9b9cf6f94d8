import type { RowExplainer } from '../explain/rowExplainer';
import type { AnomalyScorer } from '../scoring/anomalyScorer';
import type { BinaryScorer } from '../scoring/binaryScorer';
import type { AddedColumns } from '../scoring/columns';
import type { VersionCheck } from './versionCheck';

/** One version, loaded, warm and checked: everything a request needs to be answered by it. */
export type LoadedVersion = ClassifierVersion | AnomalyVersion;

interface LoadedBase {
  model: string;
  version: number;
  /** The version's features in its graph's order (numeric and categorical). */
  features: readonly string[];
  check: VersionCheck;
}

/** A 0/1 classifier (absent `kind`: versions loaded by code written before anomaly versions). */
export interface ClassifierVersion extends LoadedBase {
  kind?: 'classifier';
  /** The label column's name: the explanation columns are named after it. */
  target: string;
  threshold: number;
  columns: AddedColumns;
  /**
   * Its categorical features (the graph's string inputs, read from requests as text), in feature
   * order; absent or empty when it takes numbers only. Such a version is scored on one session on
   * the serving thread, as apply scores it (the model thread takes float rows only).
   */
  categorical?: readonly string[];
  scorer: BinaryScorer;
  /**
   * The warm explainer session (`?explain=k`, domain/explain/rowExplainer.ts), opened at load for
   * every k up to the feature count; or why this version cannot be explained.
   */
  explainer: RowExplainer | { notExplainable: string };
}

/**
 * An anomaly version: answered with `anomaly_score` and `predicted_outlier` as apply writes them
 * (domain/scoring/anomalyCsv.ts). Its categorical features are the graph's string inputs, read
 * from requests as text; `scorer.categorical` names them, in feature order.
 */
export interface AnomalyVersion extends LoadedBase {
  kind: 'anomaly';
  /** The anomaly_score above which a row is an outlier (predicted_outlier = threshold - score). */
  threshold: number;
  scorer: AnomalyScorer;
}

/** The features a version reads from requests as text (its categorical ones), in feature order. */
export function textFeatures(loaded: LoadedVersion): readonly string[] {
  return loaded.kind === 'anomaly' ? loaded.scorer.categorical : (loaded.categorical ?? []);
}

/** Releases a loaded version's sessions: the scorer's and the explainer's. */
export async function releaseLoaded(loaded: LoadedVersion): Promise<void> {
  await Promise.all([
    loaded.scorer.release(),
    loaded.kind !== 'anomaly' && 'release' in loaded.explainer ? loaded.explainer.release() : undefined,
  ]);
}

/** A version held by one request until it has answered; the session outlives every holder. */
export interface Lease {
  readonly loaded: LoadedVersion;
  release(): void;
}

/** How many swapped-out versions stay loaded and checked, so a move back to one (a rollback) is instant. */
export const WARM_SPARES = 2;

/**
 * One version's sessions and the requests running on them. `state`: answering (current), kept
 * warm after a swap (spare), or to be closed once its last request is done (closing).
 */
interface Slot {
  loaded: LoadedVersion;
  inFlight: number;
  state: 'current' | 'spare' | 'closing';
  closed?: Promise<void>;
}

/**
 * The version one served model answers with, swapped atomically: a request takes a lease on the
 * version current when it starts (one synchronous step, so no request ever sees half a swap) and
 * finishes on it. A swapped-out version stays loaded as a warm spare (the last WARM_SPARES of
 * them), so going back to it needs no load or check; one pushed out of the spares has its
 * sessions released once its last lease is returned.
 */
export class ServedModel {
  private current?: Slot;
  /** Swapped-out versions, the most recent last. */
  private spares: Slot[] = [];
  private readonly closing = new Set<Slot>();
  /** Moves in progress that hold new requests (moveCoordinator.ts), and the requests waiting. */
  private readonly holds = new Set<string>();
  private opened?: Promise<void>;
  private open?: () => void;

  constructor(
    readonly model: string,
    /** The alias the service follows, or undefined for a pinned version. */
    readonly alias: string | undefined,
    private readonly warmSpares = WARM_SPARES,
  ) {}

  get ready(): boolean {
    return this.current !== undefined;
  }

  get version(): number | undefined {
    return this.current?.loaded.version;
  }

  get loaded(): LoadedVersion | undefined {
    return this.current?.loaded;
  }

  /** The versions kept warm, oldest first. */
  get spareVersions(): number[] {
    return this.spares.map((s) => s.loaded.version);
  }

  /** True when `version` answers now or is kept warm (a swap to it needs no load). */
  has(version: number): boolean {
    return this.current?.loaded.version === version || this.spares.some((s) => s.loaded.version === version);
  }

  /**
   * Keeps a loaded and checked version warm beside the answering one, ready to be swapped in
   * (swapBack) when the alias moves to it.
   */
  keepWarm(loaded: LoadedVersion): void {
    if (this.has(loaded.version)) {
      void releaseLoaded(loaded).catch(() => undefined);
      return;
    }
    this.spares.push({ loaded, inFlight: 0, state: 'spare' });
    while (this.spares.length > this.warmSpares) this.retire(this.spares.shift() as Slot);
  }

  /**
   * While an alias move is in progress, new requests wait here (resolved when the last hold ends)
   * instead of taking a lease on the version the alias is leaving; undefined when nothing holds.
   */
  get admission(): Promise<void> | undefined {
    return this.opened;
  }

  hold(move: string): void {
    this.holds.add(move);
    this.opened ??= new Promise((resolve) => {
      this.open = resolve;
    });
  }

  /** Ends one hold; the waiting requests go on once none is left. False if it was not held. */
  unhold(move: string): boolean {
    if (!this.holds.delete(move)) return false;
    if (this.holds.size === 0) {
      this.open?.();
      this.opened = undefined;
      this.open = undefined;
    }
    return true;
  }

  /** Ends every hold (at shutdown). */
  unholdAll(): void {
    for (const move of [...this.holds]) this.unhold(move);
  }

  /** The current version for one request, or undefined before the first one is in. */
  acquire(): Lease | undefined {
    const slot = this.current;
    if (!slot) return undefined;
    slot.inFlight++;
    let released = false;
    return {
      loaded: slot.loaded,
      release: () => {
        if (released) return;
        released = true;
        slot.inFlight--;
        if (slot.state === 'closing' && slot.inFlight === 0) this.close(slot);
      },
    };
  }

  /**
   * Makes `next` the answering version; the previous one becomes a warm spare. Returns the
   * previous version.
   */
  swapIn(next: LoadedVersion): LoadedVersion | undefined {
    const previous = this.current;
    this.current = { loaded: next, inFlight: 0, state: 'current' };
    if (previous) {
      previous.state = 'spare';
      this.spares.push(previous);
      while (this.spares.length > this.warmSpares) this.retire(this.spares.shift() as Slot);
    }
    return previous?.loaded;
  }

  /**
   * Swaps a warm spare of `version` back in (no load, no check: it was checked when it was
   * loaded, and its sessions are the same). False when no spare of that version is kept.
   */
  swapBack(version: number): boolean {
    const at = this.spares.findIndex((s) => s.loaded.version === version);
    if (at < 0) return false;
    const [spare] = this.spares.splice(at, 1) as [Slot];
    const previous = this.current;
    // The spare's own slot keeps counting the requests that still run on it from before.
    spare.state = 'current';
    this.current = spare;
    if (previous) {
      previous.state = 'spare';
      this.spares.push(previous);
      while (this.spares.length > this.warmSpares) this.retire(this.spares.shift() as Slot);
    }
    return true;
  }

  /** Requests still running on any version (current, spare or closing). */
  get inFlight(): number {
    let n = this.current?.inFlight ?? 0;
    for (const slot of [...this.spares, ...this.closing]) n += slot.inFlight;
    return n;
  }

  /** Releases every session (after the requests have drained). */
  async shutdown(): Promise<void> {
    const slots = [...this.closing, ...this.spares, ...(this.current ? [this.current] : [])];
    this.current = undefined;
    this.spares = [];
    await Promise.all(slots.map((s) => this.close(s)));
  }

  private retire(slot: Slot): void {
    slot.state = 'closing';
    if (slot.inFlight === 0) this.close(slot);
    else this.closing.add(slot);
  }

  private close(slot: Slot): Promise<void> {
    this.closing.delete(slot);
    slot.closed ??= releaseLoaded(slot.loaded).catch(() => undefined);
    return slot.closed;
  }
}
