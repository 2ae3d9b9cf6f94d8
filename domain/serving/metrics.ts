/**
 * The service's Prometheus metrics, in the text exposition format (version 0.0.4). A handful of
 * counters and one histogram: a client library would add a dependency for what this file does.
 */

/** Latency buckets in seconds: sub-millisecond steps where single rows land, up to batches. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

class Histogram {
  readonly counts = new Float64Array(LATENCY_BUCKETS.length);
  count = 0;
  sum = 0;
  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= (LATENCY_BUCKETS[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        break;
      }
    }
  }
}

export class ServingMetrics {
  private readonly requests = new Map<string, { labels: Labels; value: number }>();
  private readonly rows = new Map<string, { labels: Labels; value: number }>();
  private readonly latency = new Map<string, { labels: Labels; histogram: Histogram }>();
  private readonly swaps = new Map<string, { labels: Labels; value: number }>();
  /** The version each served model answers with now (and whether it is ready). */
  private readonly versions = new Map<string, { model: string; alias: string; version: number }>();

  /** One answered request: its model, status code and latency, and the rows it scored. */
  request(model: string, status: number, seconds: number, rows: number): void {
    bump(this.requests, { model, code: String(status) }, 1);
    if (rows > 0) bump(this.rows, { model }, rows);
    const key = model;
    let entry = this.latency.get(key);
    if (!entry) {
      entry = { labels: { model }, histogram: new Histogram() };
      this.latency.set(key, entry);
    }
    entry.histogram.observe(seconds);
  }

  private readonly shadows = new Map<string, { labels: Labels; value: number }>();

  /** A version swapped in (`swapped`) or refused after its check (`refused`), by the alias followed. */
  swap(model: string, alias: string, outcome: 'swapped' | 'refused'): void {
    bump(this.swaps, { model, alias, outcome }, 1);
  }

  /** A request scored by the shadow candidate too, or whose shadow scoring failed. */
  shadow(model: string, ok: boolean): void {
    bump(this.shadows, { model, outcome: ok ? 'scored' : 'failed' }, 1);
  }

  serving(model: string, alias: string, version: number): void {
    this.versions.set(`${model}@${alias}`, { model, alias, version });
  }

  render(): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, series: Map<string, { labels: Labels; value: number }>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const { labels, value } of series.values()) lines.push(`${name}${labelText(labels)} ${value}`);
    };
    counter(
      'slipway_serve_requests_total',
      'Scoring requests answered, by model and HTTP status code.',
      this.requests,
    );
    counter('slipway_serve_rows_total', 'Rows scored.', this.rows);
    counter(
      'slipway_serve_version_changes_total',
      'Alias moves handled: versions swapped in or refused.',
      this.swaps,
    );
    counter(
      'slipway_serve_shadow_requests_total',
      'Requests also scored by the shadow candidate.',
      this.shadows,
    );
    const errors = new Map<string, { labels: Labels; value: number }>();
    for (const { labels, value } of this.requests.values()) {
      if (Number(labels.code) >= 400) bump(errors, { model: labels.model as string }, value);
    }
    counter('slipway_serve_errors_total', 'Scoring requests answered with a 4xx or 5xx status.', errors);
    lines.push(
      '# HELP slipway_serve_request_duration_seconds Time from the request to the end of the answer.',
      '# TYPE slipway_serve_request_duration_seconds histogram',
    );
    for (const { labels, histogram } of this.latency.values()) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += histogram.counts[i] as number;
        lines.push(
          `slipway_serve_request_duration_seconds_bucket${labelText({ ...labels, le: String(le) })} ${cumulative}`,
        );
      });
      lines.push(
        `slipway_serve_request_duration_seconds_bucket${labelText({ ...labels, le: '+Inf' })} ${histogram.count}`,
        `slipway_serve_request_duration_seconds_sum${labelText(labels)} ${histogram.sum}`,
        `slipway_serve_request_duration_seconds_count${labelText(labels)} ${histogram.count}`,
      );
    }
    lines.push(
      '# HELP slipway_serve_model_version The version that answers for each served model.',
      '# TYPE slipway_serve_model_version gauge',
    );
    for (const v of this.versions.values()) {
      lines.push(`slipway_serve_model_version${labelText({ model: v.model, alias: v.alias })} ${v.version}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function bump(series: Map<string, { labels: Labels; value: number }>, labels: Labels, by: number): void {
  // A series' labels are always given in the same order, and its values (model names, aliases,
  // status codes, outcomes) never hold a space: the values joined are its key.
  const key = Object.values(labels).join(' ');
  const entry = series.get(key);
  if (entry) entry.value += by;
  else series.set(key, { labels, value: by });
}
