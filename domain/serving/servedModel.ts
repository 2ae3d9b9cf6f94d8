import type { BinaryScorer } from '../scoring/binaryScorer';
import type { AddedColumns } from '../scoring/columns';
import type { VersionCheck } from './versionCheck';

/** One version, loaded, warm and checked: everything a request needs to be answered by it. */
export interface LoadedVersion {
  model: string;
  version: number;
  features: readonly string[];
  threshold: number;
  columns: AddedColumns;
  scorer: BinaryScorer;
  check: VersionCheck;
}

/** A version held by one request until it has answered; the session outlives every holder. */
export interface Lease {
  readonly loaded: LoadedVersion;
  release(): void;
}

interface Slot {
  loaded: LoadedVersion;
  inFlight: number;
  retired: boolean;
  closed?: Promise<void>;
}

/**
 * The version one served model answers with, swapped atomically: a request takes a lease on the
 * version current when it starts (one synchronous step, so no request ever sees half a swap) and
 * finishes on it; a swapped-out version's session is released once its last lease is returned.
 */
export class ServedModel {
  private current?: Slot;
  private readonly retiring = new Set<Slot>();

  constructor(
    readonly model: string,
    /** The alias the service follows, or undefined for a pinned version. */
    readonly alias: string | undefined,
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
        if (slot.retired && slot.inFlight === 0) this.close(slot);
      },
    };
  }

  /** Makes `next` the answering version; the previous one closes when its requests are done. */
  swapIn(next: LoadedVersion): LoadedVersion | undefined {
    const previous = this.current;
    this.current = { loaded: next, inFlight: 0, retired: false };
    if (previous) {
      previous.retired = true;
      if (previous.inFlight === 0) this.close(previous);
      else this.retiring.add(previous);
    }
    return previous?.loaded;
  }

  /** Requests still running on any version (current or retiring). */
  get inFlight(): number {
    let n = this.current?.inFlight ?? 0;
    for (const slot of this.retiring) n += slot.inFlight;
    return n;
  }

  /** Releases every session (after the requests have drained). */
  async shutdown(): Promise<void> {
    const slots = [...this.retiring, ...(this.current ? [this.current] : [])];
    this.current = undefined;
    await Promise.all(slots.map((s) => this.close(s)));
  }

  private close(slot: Slot): Promise<void> {
    this.retiring.delete(slot);
    slot.closed ??= slot.loaded.scorer.release().catch(() => undefined);
    return slot.closed;
  }
}
