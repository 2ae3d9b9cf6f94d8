import { mulberry32 } from '../random';

/**
 * A seeded stand-in for the threat-hunting data the operations platform's searches produce:
 * hourly Windows event counts by computer, account and event code, one row per (account, hour),
 * with a few accounts that misbehave. No public Windows event log can be downloaded here, so the
 * shape is what the searches give and the behaviour is generated:
 *
 * - accounts are users (business hours on their own workstation), admins (more privileged
 *   logons and process creations) or services (steady, around the clock);
 * - counts are Poisson around each account's own rates, busier in business hours;
 * - about 3 % of accounts are compromised; in about 4 of their hours in 10 they do what an
 *   attacker does (failed-logon bursts, explicit-credential and privileged logons on other
 *   computers, process-creation spikes, account and group changes), less loudly on some rows.
 *
 * `computer` and `account` are strings (categorical); `anomalous` is the hidden 0/1 label the
 * generator knows and a model must not be given (`--eval-label anomalous` evaluates against it).
 */
export const WIN_EVENT_CODES = [4624, 4625, 4634, 4648, 4672, 4688, 4720, 4732, 4768, 4769] as const;
export const WIN_EVENT_COUNT_COLUMNS: readonly string[] = WIN_EVENT_CODES.map((c) => `EventCode_${c}`);
export const WIN_EVENTS_LABEL = 'anomalous';
export const SYNTHETIC_WIN_EVENTS_COLUMNS: readonly string[] = [
  'hour',
  'computer',
  'account',
  ...WIN_EVENT_COUNT_COLUMNS,
  WIN_EVENTS_LABEL,
];

type Role = 'user' | 'admin' | 'service';

/** Base rates per hour by event code (same order as WIN_EVENT_CODES), in business hours. */
const RATES: Record<Role, readonly number[]> = {
  user: [6, 0.3, 5, 0.1, 0.05, 20, 0, 0, 1.5, 4],
  admin: [10, 0.6, 9, 1.5, 6, 45, 0.02, 0.05, 3, 10],
  service: [30, 0.2, 30, 0.2, 30, 8, 0, 0, 2, 25],
};
/** What an attacker's hour adds (failed-logon burst, lateral movement, escalation). */
const ATTACK = [8, 40, 4, 12, 10, 70, 0.6, 1.2, 6, 25];

/** Poisson draw: Knuth's product method for small means, a rounded normal for large ones. */
function poisson(mean: number, random: () => number): number {
  if (mean <= 0) return 0;
  if (mean > 40) {
    const u = Math.max(random(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Yields `rows` rows as strings in SYNTHETIC_WIN_EVENTS_COLUMNS order, the label last ("0" or "1"). */
export function* syntheticWinEventRows(options: { rows: number; seed: number }): Generator<string[]> {
  const { rows, seed } = options;
  if (!Number.isInteger(rows) || rows < 4) throw new RangeError(`rows must be an integer >= 4 (got ${rows})`);
  const random = mulberry32(seed);
  const nAccounts = Math.max(20, Math.round(rows / 120));
  const nComputers = Math.max(5, Math.round(nAccounts / 2));
  const accounts = Array.from({ length: nAccounts }, (_, i) => {
    const r = random();
    const role: Role = r < 0.8 ? 'user' : r < 0.92 ? 'admin' : 'service';
    return {
      name: `${role === 'service' ? 'svc' : role === 'admin' ? 'adm' : 'user'}${pad(i, 4)}`,
      role,
      home: Math.floor(random() * nComputers),
      // Each account has its own level of activity around its role's rates.
      scale: 0.6 + 0.8 * random(),
      compromised: false,
    };
  });
  // At least one compromised account, about 3 % of them.
  const nCompromised = Math.max(1, Math.round(nAccounts * 0.03));
  for (let k = 0; k < nCompromised; k++) {
    (accounts[Math.floor(random() * nAccounts)] as { compromised: boolean }).compromised = true;
  }
  for (let i = 0; i < rows; i++) {
    const account = accounts[Math.floor(random() * nAccounts)] as (typeof accounts)[number];
    const hour = Math.floor(random() * 24);
    const busy = account.role === 'service' ? 1 : hour >= 8 && hour < 18 ? 1 : 0.08;
    const attack = account.compromised && random() < 0.4;
    // Some attacks are quieter: a third to the full strength.
    const strength = attack ? 0.35 + 0.65 * random() : 0;
    const computer = attack && random() < 0.7 ? Math.floor(random() * nComputers) : account.home;
    const counts = RATES[account.role].map((rate, c) =>
      poisson(rate * account.scale * busy + strength * (ATTACK[c] as number), random),
    );
    yield [String(hour), `WS-${pad(computer, 3)}`, account.name, ...counts.map(String), attack ? '1' : '0'];
  }
}
