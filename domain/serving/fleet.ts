import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AliasEntry } from '../registry/aliases';
import { serviceKey, servicesPrefix } from '../registry/layout';
import type {
  AliasMoveCoordinator,
  PlannedMove,
  PreparedMove,
  ServingNotice,
} from '../registry/moveCoordinator';
import type { ArtifactStore } from '../storage/artifactStore';
import { serializeDocument } from '../storage/jsonDocument';

/**
 * The scoring services of a model, as they register themselves in the store (one document each,
 * renewed on a lease), and the coordinator an alias move uses to tell them (moveCoordinator.ts).
 * A service is told over HTTP, on its own address, with the control token it registered: whoever
 * can read the registry can hold a service's requests for a lease, no more; a swap happens only to
 * the version the alias log entry it is given names (the service reads that entry itself).
 */
export const serviceRegistrationSchema = z.object({
  instance: z.string().min(1),
  /** Where the service answers its control requests (POST <url>/control/<step>). */
  url: z.string().url(),
  token: z.string().min(16),
  model: z.string().min(1),
  /** The aliases of the model it follows: the answering one, a canary's, a shadow's. */
  aliases: z.array(z.string()),
  host: z.string(),
  pid: z.number().int(),
  renewedAt: z.string(),
  leaseSeconds: z.number().positive(),
});
export type ServiceRegistration = z.infer<typeof serviceRegistrationSchema>;

/** How long a registration stays live without renewal; services renew at a third of it. */
export const SERVICE_LEASE_SECONDS = 30;

export async function writeRegistration(store: ArtifactStore, registration: ServiceRegistration) {
  await store.putDocument(
    serviceKey(registration.model, registration.instance),
    serializeDocument(registration),
    { mediaType: 'application/json' },
  );
}

export async function removeRegistration(store: ArtifactStore, model: string, instance: string) {
  await store.deleteDocument(serviceKey(model, instance));
}

/** The live registrations of services following `alias` of `model` (expired or unreadable ones skipped). */
export async function liveServices(
  store: ArtifactStore,
  model: string,
  alias: string,
  now: number,
): Promise<ServiceRegistration[]> {
  const listed = await store.list(servicesPrefix(model));
  const read = await Promise.all(
    listed
      .filter((o) => o.key.endsWith('.json'))
      .map(async (o) => {
        const raw = await store.getDocument(o.key).catch(() => undefined);
        if (!raw) return undefined;
        try {
          const parsed = serviceRegistrationSchema.safeParse(JSON.parse(raw.toString('utf8')));
          return parsed.success ? parsed.data : undefined;
        } catch {
          return undefined;
        }
      }),
  );
  const live = (r: ServiceRegistration) =>
    r.aliases.includes(alias) && Date.parse(r.renewedAt) + r.leaseSeconds * 1000 >= now;
  return read.filter((r): r is ServiceRegistration => r !== undefined).filter(live);
}

/** The control requests a service answers, and what each answers. */
export interface ControlRequests {
  /** Load, warm and check `version` beside the answering one (no swap). */
  prepare: {
    body: { model: string; alias: string; version: number };
    answer: { ready: boolean; reason?: string };
  };
  /** Hold the alias's new requests (they wait) for up to leaseMs, for the move `move`. */
  hold: { body: { model: string; alias: string; move: string; leaseMs: number }; answer: { held: boolean } };
  /** The alias moved (the log entry `seq`): swap to its version, end the hold. */
  commit: {
    body: { model: string; alias: string; move: string; seq: number };
    answer: { version: number | null; holdExpired: boolean };
  };
  /** The move did not happen: end the hold, swap nothing. */
  release: { body: { model: string; alias: string; move: string }; answer: { released: boolean } };
}

export interface FleetTimeouts {
  /** Loading and checking a version (seconds for a large file from a remote store). */
  prepareMs: number;
  /** Answering hold, commit and release (no I/O on the service's side but one read at commit). */
  holdMs: number;
  commitMs: number;
  /** How long a service holds requests if the commit never comes; then it reads the alias itself. */
  leaseMs: number;
}

export const DEFAULT_FLEET_TIMEOUTS: FleetTimeouts = {
  prepareMs: 30_000,
  holdMs: 2_000,
  commitMs: 2_000,
  leaseMs: 5_000,
};

/**
 * The coordinator every writer of the alias log uses: prepare asks each live service following
 * the alias to get the new version ready (in parallel, bounded by prepareMs), then to hold; the
 * services that answered both are swapped by commit. A service that refuses the version (its check
 * fails), times out or cannot be reached is named in the notice and left out of the hold: it reads
 * the alias itself (its poll) and refuses or swaps then.
 */
export class ServingFleet implements AliasMoveCoordinator {
  constructor(
    private readonly store: ArtifactStore,
    private readonly timeouts: FleetTimeouts = DEFAULT_FLEET_TIMEOUTS,
  ) {}

  async prepare(move: PlannedMove): Promise<PreparedMove> {
    const services = await liveServices(this.store, move.model, move.alias, Date.now());
    const late: ServingNotice['late'] = [];
    const lateOf = (s: ServiceRegistration, phase: ServingNotice['late'][number]['phase'], reason: string) =>
      late.push({ instance: s.instance, url: s.url, phase, reason });
    const id = randomUUID();
    const target = { model: move.model, alias: move.alias };

    const prepared = await Promise.all(
      services.map(async (s) => {
        try {
          const answer = await control(
            s,
            'prepare',
            { ...target, version: move.to },
            this.timeouts.prepareMs,
          );
          if (!answer.ready)
            lateOf(s, 'prepare', `it refused v${move.to}: ${answer.reason ?? 'no reason given'}`);
          return { s, ready: answer.ready };
        } catch (error) {
          lateOf(s, 'prepare', (error as Error).message);
          return undefined;
        }
      }),
    );
    const answered = prepared.filter((p) => p !== undefined);
    const held = (
      await Promise.all(
        answered
          .filter((p) => p.ready)
          .map(async ({ s }) => {
            try {
              const answer = await control(
                s,
                'hold',
                { ...target, move: id, leaseMs: this.timeouts.leaseMs },
                this.timeouts.holdMs,
              );
              if (answer.held) return s;
              lateOf(s, 'hold', 'it did not hold its requests');
            } catch (error) {
              lateOf(s, 'hold', (error as Error).message);
            }
            return undefined;
          }),
      )
    ).filter((s) => s !== undefined);

    return {
      commit: async (entry: AliasEntry) => {
        const swappedAtMove: string[] = [];
        // The ones that refused are told too: they record the refusal now, not at their next poll.
        await Promise.all(
          answered.map(async ({ s }) => {
            const wasHeld = held.includes(s);
            try {
              const answer = await control(
                s,
                'commit',
                { ...target, move: id, seq: entry.seq },
                this.timeouts.commitMs,
              );
              if (!wasHeld) return;
              if (answer.holdExpired) lateOf(s, 'commit', 'its hold ended before the commit came');
              else if (answer.version !== entry.version)
                lateOf(s, 'commit', `it answers with v${answer.version ?? 'none'}, not v${entry.version}`);
              else swappedAtMove.push(s.instance);
            } catch (error) {
              if (wasHeld) lateOf(s, 'commit', (error as Error).message);
            }
          }),
        );
        return { services: services.length, swappedAtMove, late };
      },
      abort: async () => {
        await Promise.all(
          held.map((s) =>
            control(s, 'release', { ...target, move: id }, this.timeouts.commitMs).catch(() => undefined),
          ),
        );
      },
    };
  }
}

async function control<K extends keyof ControlRequests>(
  service: ServiceRegistration,
  step: K,
  body: ControlRequests[K]['body'],
  timeoutMs: number,
): Promise<ControlRequests[K]['answer']> {
  let res: Response;
  try {
    res = await fetch(`${service.url}/control/${step}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${service.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const e = error as Error;
    throw new Error(
      e.name === 'TimeoutError'
        ? `${step} got no answer from ${service.url} within ${timeoutMs} ms`
        : `${step} could not reach ${service.url}: ${(e.cause as Error | undefined)?.message ?? e.message}`,
    );
  }
  const text = await res.text();
  if (!res.ok)
    throw new Error(`${step} was answered ${res.status} by ${service.url}: ${text.trim().slice(0, 300)}`);
  return JSON.parse(text) as ControlRequests[K]['answer'];
}
