import type { ModelAliases } from '../domain/registry/aliases';
import { RequestError } from '../domain/serving/errors';
import { type LoadedVersion, releaseLoaded, type ServedModel } from '../domain/serving/servedModel';
import type { VersionCheck } from '../domain/serving/versionCheck';

/** Why a version is not served: it could not be loaded, or it failed its check. */
interface Refusal {
  reason: string;
  check?: VersionCheck;
}

export interface FollowerHooks {
  /** Loads, warms and checks one version (application/serving.ts loadServingVersion). */
  load(version: number): Promise<LoadedVersion>;
  /** The alias now answers with `to` (warm: no load was needed for this move). */
  swapped(move: { from: number; to: number; ms: number; warm: boolean }): void;
  /** The alias moved to `version`, which is not served: `kept` answers on. */
  refused(move: { version: number; kept: number | undefined; refusal: Refusal; at: number }): void;
}

/**
 * Keeps one served model on where its alias points. It hears of a move two ways:
 * - from the mover (moveCoordinator.ts, over the control routes): prepare (load, warm and check
 *   the version beside the answering one), hold (new requests wait), commit (swap to the version
 *   of the alias log entry named, read from the log itself, then let the requests through);
 * - from its own poll of the alias, for moves by writers that do not coordinate and for a
 *   service the mover left out (it did not answer in time).
 * Both go through moveTo, which acts only on a log entry newer than the last one it acted on, so
 * a slow poll that read the log before a commit can never swap back to the version just left.
 */
export class AliasFollower {
  /** The number of the last alias log entry acted on (swapped to, stayed on, or refused). */
  private applied = 0;
  private readonly loads = new Map<number, Promise<Refusal | undefined>>();
  /** Versions loaded for a move (not kept warm from before): their swap is reported as loaded. */
  private readonly loadedForMove = new Set<number>();
  private readonly holdTimers = new Map<string, NodeJS.Timeout>();
  private readonly expiredHolds = new Set<string>();
  private stopped = false;

  constructor(
    readonly served: ServedModel,
    private readonly aliases: ModelAliases,
    private readonly hooks: FollowerHooks,
  ) {}

  get alias(): string {
    return this.served.alias as string;
  }

  /** Reads where the alias points and follows it if the log moved on since. */
  async poll(): Promise<void> {
    const position = await this.aliases.position(this.served.model, this.alias);
    if (position !== undefined) await this.moveTo(position.version, position.seq);
  }

  async prepare(version: number): Promise<{ ready: boolean; reason?: string }> {
    const refusal = await this.ensureLoaded(version);
    return refusal ? { ready: false, reason: refusal.reason } : { ready: true };
  }

  /** New requests wait until commit or release, or until leaseMs pass (then the alias is read). */
  hold(move: string, leaseMs: number): { held: boolean } {
    if (this.stopped) return { held: false };
    this.served.hold(move);
    this.holdTimers.set(
      move,
      setTimeout(() => void this.expire(move), leaseMs),
    );
    return { held: true };
  }

  async commit(move: string, seq: number): Promise<{ version: number | null; holdExpired: boolean }> {
    const held = this.endHoldTimer(move);
    try {
      // The entry is read from the log: a service swaps only to where the alias really moved.
      const entry = await this.aliases.entry(this.served.model, seq);
      if (entry === undefined || entry.alias !== this.alias) {
        throw new RequestError(
          409,
          'NoSuchMove',
          `The alias log of ${this.served.model} has no entry ${seq} moving ${this.alias}.`,
        );
      }
      await this.moveTo(entry.version, seq);
    } finally {
      this.served.unhold(move);
    }
    const holdExpired = !held && this.expiredHolds.delete(move);
    return { version: this.served.version ?? null, holdExpired };
  }

  release(move: string): { released: boolean } {
    this.endHoldTimer(move);
    return { released: this.served.unhold(move) };
  }

  /** No more moves; the requests held are let through (the service is draining). */
  stop(): void {
    this.stopped = true;
    for (const move of [...this.holdTimers.keys()]) this.endHoldTimer(move);
    this.served.unholdAll();
  }

  private endHoldTimer(move: string): boolean {
    const timer = this.holdTimers.get(move);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.holdTimers.delete(move);
    return true;
  }

  /** The commit did not come in time: the alias is read, followed, and the requests go on. */
  private async expire(move: string): Promise<void> {
    this.holdTimers.delete(move);
    this.expiredHolds.add(move);
    try {
      await this.poll();
    } catch {
      // The poll loop tries again; the held requests must not wait for it.
    } finally {
      this.served.unhold(move);
    }
  }

  private async moveTo(version: number, seq: number): Promise<void> {
    if (this.stopped || seq <= this.applied) return;
    const from = this.served.version;
    if (from === version) {
      this.applied = seq;
      return;
    }
    const started = Date.now();
    const refusal = await this.ensureLoaded(version);
    // A newer entry may have been acted on while this one's version loaded.
    if (this.stopped || seq <= this.applied) return;
    if (refusal) {
      this.applied = seq;
      this.loads.delete(version); // tried again if the alias comes back to it by a later move
      this.hooks.refused({ version, kept: this.served.version, refusal, at: started });
      return;
    }
    // Pushed out of the warm spares meanwhile: the next poll loads it again.
    if (!this.served.swapBack(version)) return;
    this.applied = seq;
    const warm = !this.loadedForMove.delete(version);
    this.hooks.swapped({ from: from ?? 0, to: version, ms: Date.now() - started, warm });
  }

  /** Gets `version` loaded, warm and checked beside the answering one; or why it is refused. */
  private ensureLoaded(version: number): Promise<Refusal | undefined> {
    if (this.served.has(version)) return Promise.resolve(undefined);
    let loading = this.loads.get(version);
    if (loading === undefined) {
      loading = this.hooks.load(version).then(
        async (loaded): Promise<Refusal | undefined> => {
          if (!loaded.check.passed) {
            await releaseLoaded(loaded);
            return { reason: `it failed its check: ${loaded.check.reason}`, check: loaded.check };
          }
          this.loads.delete(version);
          if (this.stopped) {
            await releaseLoaded(loaded);
            return { reason: 'the service is stopping' };
          }
          this.served.keepWarm(loaded);
          this.loadedForMove.add(version);
          return undefined;
        },
        // A version that cannot even be loaded (a damaged artifact, a file onnxruntime refuses) is
        // refused like one that fails its check.
        (error: Error) => ({ reason: `it could not be loaded: ${error.message}` }),
      );
      this.loads.set(version, loading);
    }
    return loading;
  }
}
