import type { AnomalyCheck, DataAnomaly } from './schemaCheck';

export type AnomalyPolicy = 'fail' | 'review' | 'warn';

export interface AnomalyPolicySettings {
  /** The policy of every check `checks` does not name. */
  onAnomaly: AnomalyPolicy;
  checks: Partial<Record<AnomalyCheck, AnomalyPolicy>>;
}

export type DecidedAnomaly = DataAnomaly & { policy: AnomalyPolicy };

/** Each anomaly with the policy that applies to it; the run's outcome is the strictest of them. */
export function decideAnomalies(
  anomalies: readonly DataAnomaly[],
  settings: AnomalyPolicySettings,
): { anomalies: DecidedAnomaly[]; outcome: AnomalyPolicy | 'pass' } {
  const decided = anomalies.map((a) => ({ ...a, policy: settings.checks[a.check] ?? settings.onAnomaly }));
  const has = (p: AnomalyPolicy) => decided.some((a) => a.policy === p);
  const outcome = has('fail') ? 'fail' : has('review') ? 'review' : has('warn') ? 'warn' : 'pass';
  return { anomalies: decided, outcome };
}

/** One line per anomaly, for a failure message or a log: "range Amount: ...". */
export function describeAnomalies(anomalies: readonly DataAnomaly[]): string {
  return anomalies.map((a) => `[${a.check}] ${a.message}`).join('; ');
}
