import { z } from 'zod';
import type { ArtifactStore } from '../storage/artifactStore';
import { serializeDocument } from '../storage/jsonDocument';
import { allocateNumbered } from '../storage/numberedLog';
import { aliasNameSchema, assertAliasName } from './aliasName';
import {
  AliasConflictError,
  CorruptRegistryDocumentError,
  NothingToRollBackError,
  RegistryContentionError,
} from './errors';
import { aliasEntryKey, aliasLogPrefix, MAX_VERSION, versionOfKey } from './layout';
import { assertModelName } from './modelName';
import type { AliasMoveCoordinator, ServingNotice } from './moveCoordinator';
import type { ModelRegistry } from './registry';

/**
 * Aliases ("production", "staging") name one version of a model each. Every move is an entry in
 * an append-only log per model (layout.ts), numbered and created with the store's atomic
 * create-if-absent: two moves at the same moment race for one number, the loser reads the new
 * state and tries the next, so neither is lost and each saw the state it changed.
 *
 * Where an alias points is the replay of its entries as a stack: promote and set push a version,
 * rollback pops one. So a rollback returns to the version the current one replaced, and a second
 * rollback goes one further back; the replaced version stays reachable in the log.
 */
export const aliasEntrySchema = z.object({
  seq: z.number().int().min(1),
  alias: aliasNameSchema,
  /** Where the alias points after this entry. */
  version: z.number().int().min(1),
  /** Where it pointed before (null: nowhere). */
  previous: z.number().int().min(1).nullable(),
  action: z.enum(['promote', 'rollback', 'set']),
  actor: z.string().min(1),
  reason: z.string(),
  /** ISO time, passed in by the caller (domain code reads no clock). */
  at: z.string(),
  idempotencyKey: z.string().min(1).optional(),
});
export type AliasEntry = z.infer<typeof aliasEntrySchema>;

export interface MoveAliasRequest {
  version: number;
  action: 'promote' | 'set';
  actor: string;
  reason: string;
  at: string;
  /** Refuse (AliasConflict) unless the alias points here now; null means "points nowhere". */
  expectedCurrent?: number | null;
  /** A retried call with the same key returns the entry the first one wrote. */
  idempotencyKey?: string;
}

export interface AliasMove {
  entry: AliasEntry;
  /** False when an earlier call with the same idempotency key had already made this move. */
  created: boolean;
  /** What the scoring services following the alias did about the move (when a coordinator was given). */
  serving?: ServingNotice;
}

export class ModelAliases {
  /**
   * `rememberEntries`: keep every entry read, so a reader that asks again and again (a scoring
   * service following an alias) lists the log and reads only the entries written since. Safe
   * because an entry is never changed once written (created if absent, never overwritten).
   */
  private readonly remembered?: Map<string, AliasEntry>;
  private readonly coordinator?: AliasMoveCoordinator;

  /**
   * `coordinator`: told before and after each write that changes where an alias points
   * (moveCoordinator.ts), so the scoring services following it swap at the move. Every writer of
   * the alias log passes one (the workspace and the activities pass the serving fleet); readers
   * need none.
   */
  constructor(
    private readonly registry: ModelRegistry,
    private readonly maxAttempts = 1000,
    options: { rememberEntries?: boolean; coordinator?: AliasMoveCoordinator } = {},
  ) {
    if (options.rememberEntries) this.remembered = new Map();
    this.coordinator = options.coordinator;
  }

  private get store(): ArtifactStore {
    return this.registry.store;
  }

  /** Every entry of the model's log, oldest first. */
  async history(name: string, alias?: string): Promise<AliasEntry[]> {
    assertModelName(name);
    if (alias !== undefined) assertAliasName(alias);
    const keys = (await this.store.list(aliasLogPrefix(name)))
      .map((o) => ({ key: o.key, seq: versionOfKey(o.key) }))
      .filter((o): o is { key: string; seq: number } => o.seq !== undefined)
      .sort((a, b) => a.seq - b.seq);
    const entries = await Promise.all(keys.map((k) => this.readEntry(name, k.seq)));
    return entries.filter(
      (e): e is AliasEntry => e !== undefined && (alias === undefined || e.alias === alias),
    );
  }

  /** The version each alias of the model points to now. */
  async aliasesOf(name: string): Promise<Record<string, number>> {
    const stacks = replay(await this.history(name));
    return Object.fromEntries(
      [...stacks]
        .filter(([, stack]) => stack.length > 0)
        .map(([alias, stack]) => [alias, stack.at(-1) as number]),
    );
  }

  async resolve(name: string, alias: string): Promise<number | undefined> {
    assertAliasName(alias);
    return (await this.aliasesOf(name))[alias];
  }

  /**
   * Where the alias points and the number of the last log entry that moved it: a reader that also
   * hears of moves another way (a scoring service) keeps the newest by this number.
   */
  async position(name: string, alias: string): Promise<{ version: number; seq: number } | undefined> {
    assertAliasName(alias);
    const log = await this.history(name, alias);
    const version = replay(log).get(alias)?.at(-1);
    const last = log.at(-1);
    return version === undefined || last === undefined ? undefined : { version, seq: last.seq };
  }

  /** One entry of the model's log by its number (undefined if absent). */
  async entry(name: string, seq: number): Promise<AliasEntry | undefined> {
    assertModelName(name);
    return this.readEntry(name, seq);
  }

  /** Points `alias` at `version` (which must be registered), as one new log entry. */
  async move(name: string, alias: string, request: MoveAliasRequest): Promise<AliasMove> {
    assertAliasName(alias);
    await this.registry.getVersion(name, request.version); // names what exists when it does not
    return this.append(name, alias, request.idempotencyKey, (stack) => {
      const current = stack.at(-1) ?? null;
      if (request.expectedCurrent !== undefined && request.expectedCurrent !== current) {
        throw new AliasConflictError(
          `${alias} of ${name} points to ${current === null ? 'no version' : `version ${current}`}, not ` +
            `${request.expectedCurrent === null ? 'nowhere' : `version ${request.expectedCurrent}`} as expected: ` +
            'it moved meanwhile. Compare against the new version, then try again.',
        );
      }
      return {
        alias,
        version: request.version,
        previous: current,
        action: request.action,
        actor: request.actor,
        reason: request.reason,
        at: request.at,
      };
    });
  }

  /** Moves `alias` back to the version the current one replaced. */
  async rollback(
    name: string,
    alias: string,
    request: { actor: string; reason: string; at: string; idempotencyKey?: string },
  ): Promise<AliasMove> {
    assertAliasName(alias);
    return this.append(name, alias, request.idempotencyKey, (stack) => {
      const current = stack.at(-1);
      const target = stack.at(-2);
      if (current === undefined || target === undefined) {
        throw new NothingToRollBackError(
          current === undefined
            ? `${alias} of ${name} points to no version yet: there is nothing to roll back.`
            : `${alias} of ${name} is at version ${current}, the first it ever pointed to: there is no earlier ` +
                `version to go back to. Point it elsewhere with a promotion instead.`,
        );
      }
      return {
        alias,
        version: target,
        previous: current,
        action: 'rollback' as const,
        actor: request.actor,
        reason: request.reason,
        at: request.at,
      };
    });
  }

  /**
   * Appends one entry computed from the alias's current stack; on losing a number to a concurrent
   * move, recomputes from the new state. An entry with the same idempotency key is returned as is.
   */
  private async append(
    name: string,
    alias: string,
    idempotencyKey: string | undefined,
    next: (stack: number[]) => Omit<AliasEntry, 'seq' | 'idempotencyKey'>,
  ): Promise<AliasMove> {
    return allocateNumbered<AliasMove>({
      maxAttempts: this.maxAttempts,
      attempt: async () => {
        const log = await this.history(name);
        const earlier = idempotencyKey ? log.find((e) => e.idempotencyKey === idempotencyKey) : undefined;
        if (earlier) return { won: { entry: earlier, created: false } };
        const seq = (log.at(-1)?.seq ?? 0) + 1;
        if (seq > MAX_VERSION) throw new RegistryContentionError(`The alias log of ${name} is full.`);
        const entry = aliasEntrySchema.parse({
          seq,
          ...next(replay(log).get(alias) ?? []),
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
        // The services following the alias get the new version ready and hold their requests
        // across the write, so none is answered by the version the alias has just left.
        const prepared =
          this.coordinator && entry.version !== entry.previous
            ? await this.coordinator.prepare({ model: name, alias, from: entry.previous, to: entry.version })
            : undefined;
        let created: boolean;
        try {
          created = await this.store.putDocument(aliasEntryKey(name, seq), serializeDocument(entry), {
            ifAbsent: true,
            mediaType: 'application/json',
          });
        } catch (error) {
          await prepared?.abort();
          throw error;
        }
        if (!created) {
          await prepared?.abort();
          return 'lost';
        }
        const serving = await prepared?.commit(entry);
        return { won: { entry, created: true, ...(serving ? { serving } : {}) } };
      },
      contention: () =>
        new RegistryContentionError(
          `Could not move ${alias} of ${name}: ${this.maxAttempts} log numbers in a row were taken by concurrent ` +
            'moves. The attempt will be retried.',
        ),
    });
  }

  private async readEntry(name: string, seq: number): Promise<AliasEntry | undefined> {
    const key = aliasEntryKey(name, seq);
    const known = this.remembered?.get(key);
    if (known) return known;
    const raw = await this.store.getDocument(key);
    if (raw === undefined) return undefined;
    const parsed = aliasEntrySchema.safeParse(safeJson(raw.toString('utf8')));
    if (!parsed.success || parsed.data.seq !== seq) {
      throw new CorruptRegistryDocumentError(key, this.store.location, 'it is not an alias log entry');
    }
    this.remembered?.set(key, parsed.data);
    return parsed.data;
  }
}

/** Each alias's stack of versions after replaying the log in order. */
function replay(log: readonly AliasEntry[]): Map<string, number[]> {
  const stacks = new Map<string, number[]>();
  for (const entry of log) {
    const stack = stacks.get(entry.alias) ?? [];
    if (entry.action === 'rollback') stack.pop();
    else stack.push(entry.version);
    stacks.set(entry.alias, stack);
  }
  return stacks;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
