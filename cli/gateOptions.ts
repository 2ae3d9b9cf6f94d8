import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { anomalyPolicies, type GateSettingsInput, gateSettingsSchema } from '../contracts/inputs';
import { parseNumberOption } from './numberOption';
import { UsageError } from './usageError';

/** "90", "90s", "15m", "2h", "7d" -> seconds. */
export function parseDurationSeconds(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim());
  if (!match) {
    throw new UsageError(
      `${option} "${text}" is not a duration: use a number of seconds or e.g. 90s, 15m, 2h, 7d.`,
    );
  }
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(match[1]) * unit);
}

/** The gate options shared by `run` and `schedule create`. */
export function addGateOptions(command: Command): Command {
  return command
    .option(
      '--gate <file>',
      'gate settings as JSON ({ metric, review, promote, alias, data }); flags below override it',
    )
    .option(
      '--on-anomaly <policy>',
      "when the new data fails validation against the champion's training data (columns, type, range, scale, " +
        'missing rate, label rate): fail the run, review (wait for --approvers) or warn (default; noted in the metadata). ' +
        'Per check: data.checks in --gate, e.g. { "data": { "checks": { "labelRate": "review" } } }',
    )
    .option('--min-recall <x>', 'metric gate: lowest acceptable recall on the held-out split')
    .option('--max-fpr <x>', 'metric gate: highest acceptable false-positive rate')
    .option('--min-precision <x>', 'metric gate: lowest acceptable precision')
    .option('--min-pr-auc <x>', 'metric gate: lowest acceptable PR-AUC')
    .option(
      '--key-metric <name>',
      'compared with the champion: recall, precision, fpr, f1, rocAuc or prAuc (default prAuc)',
    )
    .option('--max-regression <x>', 'how much worse than the champion the key metric may be (default 0.01)')
    .option(
      '--max-drift-psi <x>',
      "metric gate: block when a feature's PSI between the champion's training data and this run's exceeds x " +
        '(0.25 is the usual reading of "drifted"; off by default)',
    )
    .option(
      '--max-drift-ks <x>',
      "metric gate: block when a feature's two-sample KS D between the champion's training data and this run's exceeds x (0 to 1)",
    )
    .option('--approvers <list>', 'comma-separated people who may approve; implies --require-approval')
    .option('--require-approval', 'a blessed version waits for a person before promotion')
    .option(
      '--approval-timeout <duration>',
      'silence after this counts as a rejection, e.g. 2h or 7d (default 7d)',
    )
    .option('--alias <name>', 'the alias to promote to (default production)')
    .option('--no-promote', 'register the version but do not move any alias');
}

export interface GateFlags {
  gate?: string;
  minRecall?: string;
  maxFpr?: string;
  minPrecision?: string;
  minPrAuc?: string;
  keyMetric?: string;
  maxRegression?: string;
  maxDriftPsi?: string;
  maxDriftKs?: string;
  approvers?: string;
  requireApproval?: boolean;
  approvalTimeout?: string;
  alias?: string;
  promote?: boolean;
  onAnomaly?: string;
}

/**
 * Gate settings from a --gate file and the flags, over `fileGate` (a pipeline file's gate),
 * validated (errors name the flag or field).
 */
export function gateSettingsFromFlags(flags: GateFlags, fileGate: GateSettingsInput = {}): GateSettingsInput {
  let base: Record<string, unknown> = { ...fileGate };
  if (flags.gate) {
    try {
      base = { ...base, ...JSON.parse(readFileSync(flags.gate, 'utf8')) };
    } catch (err) {
      throw new UsageError(
        `--gate ${flags.gate}: ${(err as Error).message}. Give a JSON file of gate settings.`,
      );
    }
  }
  const metric = { ...((base.metric as object) ?? {}) } as Record<string, Record<string, unknown>>;
  const thresholds = { ...(metric.thresholds ?? {}) };
  const number = (value: string | undefined, flag: string) =>
    value === undefined ? undefined : parseNumberOption(value, flag, { min: 0, max: 1 });
  const set = (key: string, value: number | undefined) => {
    if (value !== undefined) thresholds[key] = value;
  };
  set('minRecall', number(flags.minRecall, '--min-recall'));
  set('maxFpr', number(flags.maxFpr, '--max-fpr'));
  set('minPrecision', number(flags.minPrecision, '--min-precision'));
  set('minPrAuc', number(flags.minPrAuc, '--min-pr-auc'));
  const champion = { ...(metric.champion ?? {}) };
  if (flags.keyMetric) champion.keyMetric = flags.keyMetric;
  const regression = number(flags.maxRegression, '--max-regression');
  if (regression !== undefined) champion.maxRegression = regression;
  const drift = { ...(metric.drift ?? {}) };
  if (flags.maxDriftPsi !== undefined)
    drift.maxPsi = parseNumberOption(flags.maxDriftPsi, '--max-drift-psi', { above: 0 });
  if (flags.maxDriftKs !== undefined)
    drift.maxKs = parseNumberOption(flags.maxDriftKs, '--max-drift-ks', { above: 0, max: 1 });

  const review = { ...((base.review as object) ?? {}) } as Record<string, unknown>;
  if (flags.approvers) {
    review.approvers = flags.approvers
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    review.required = true;
  }
  if (flags.requireApproval) review.required = true;
  if (flags.approvalTimeout)
    review.timeoutSeconds = parseDurationSeconds(flags.approvalTimeout, '--approval-timeout');

  const data = { ...((base.data as object) ?? {}) } as Record<string, unknown>;
  if (flags.onAnomaly !== undefined) {
    if (!(anomalyPolicies as readonly string[]).includes(flags.onAnomaly)) {
      throw new UsageError(
        `--on-anomaly "${flags.onAnomaly}" is not a policy: use ${anomalyPolicies.join(', ')}.`,
      );
    }
    data.onAnomaly = flags.onAnomaly;
  }

  const settings = {
    ...base,
    data,
    metric: { ...metric, thresholds, champion, drift },
    review,
    ...(flags.alias ? { alias: flags.alias } : {}),
    ...(flags.promote === false ? { promote: false } : {}),
  };
  return gateSettingsSchema.parse(settings);
}
