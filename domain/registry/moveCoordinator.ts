/**
 * What an alias move tells the services that answer for the alias (slipway serve), so that no
 * request is answered by the version the alias has just left. ModelAliases calls it around the one
 * write that moves the alias:
 *
 *   prepare(move)   before the write: every service following the alias loads, warms and checks
 *                   the new version, then holds the requests that arrive (they wait, they do not fail)
 *   <write>         the alias log entry is created (the moment the alias moves)
 *   commit(entry)   after the write: the services swap to the new version and let the held requests
 *                   through, so a held request is answered by a version the alias pointed to while it ran
 *   abort()         the write did not happen (a concurrent move won the number, an error): holds are
 *                   released, nothing is swapped
 *
 * A service that does not answer in time is left out (it catches up by reading the alias itself)
 * and named in the notice, so a promotion is never blocked by a service that went away.
 */
import type { AliasEntry } from './aliases';

export interface PlannedMove {
  model: string;
  alias: string;
  /** Where the alias points now (null: nowhere). */
  from: number | null;
  to: number;
}

/** What the services did about one move, for the move's audit record. */
export interface ServingNotice {
  /** Live services following the alias when the move was prepared. */
  services: number;
  /** Services that held their requests across the write and swapped at the commit. */
  swappedAtMove: string[];
  /** Services that did not: each catches up on its own (it reads the alias), with why. */
  late: Array<{ instance: string; url: string; phase: 'prepare' | 'hold' | 'commit'; reason: string }>;
}

export interface PreparedMove {
  commit(entry: AliasEntry): Promise<ServingNotice>;
  abort(): Promise<void>;
}

export interface AliasMoveCoordinator {
  prepare(move: PlannedMove): Promise<PreparedMove>;
}
