/**
 * Small SVG charts as strings, for a report that must open offline with no script or library.
 * Fixed viewBox sizes so they scale with the page; every chart is an <svg role="img"> with a
 * title and a data-chart name that browser tests look for.
 */
export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
  color: string;
  dashed?: boolean;
}

export interface Marker {
  x: number;
  y: number;
  label: string;
}

const W = 480;
const H = 320;
const PAD = { left: 56, right: 16, top: 24, bottom: 44 };

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toFixed(3)));

function ticks(min: number, max: number, count = 5): number[] {
  if (max <= min) return [min];
  return Array.from({ length: count + 1 }, (_, i) => min + ((max - min) * i) / count);
}

/** A line chart over [xMin, xMax] x [yMin, yMax], with axes, ticks, a legend and optional markers. */
export function lineChart(options: {
  chart: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  markers?: Marker[];
  x?: [number, number];
  y?: [number, number];
}): string {
  const all = options.series.flatMap((s) => s.points);
  const [x0, x1] = options.x ?? [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
  const [y0, y1] = options.y ?? [Math.min(0, ...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [];
  for (const t of ticks(x0, x1)) {
    parts.push(
      `<line x1="${sx(t)}" x2="${sx(t)}" y1="${PAD.top}" y2="${H - PAD.bottom}" class="grid"/>`,
      `<text x="${sx(t)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  for (const t of ticks(y0, y1)) {
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(t)}" y2="${sy(t)}" class="grid"/>`,
      `<text x="${PAD.left - 6}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  }
  options.series.forEach((s, i) => {
    const d = s.points
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join('');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} data-series="${escapeXml(s.name)}"/>`,
      `<rect x="${PAD.left + 8}" y="${PAD.top + 6 + i * 16}" width="12" height="3" fill="${s.color}"/>`,
      `<text x="${PAD.left + 24}" y="${PAD.top + 11 + i * 16}">${escapeXml(s.name)}</text>`,
    );
  });
  for (const m of options.markers ?? []) {
    parts.push(
      `<circle cx="${sx(m.x)}" cy="${sy(m.y)}" r="5" class="marker" data-marker="threshold"/>`,
      `<text x="${sx(m.x) + 8}" y="${sy(m.y) - 8}" class="marker-label">${escapeXml(m.label)}</text>`,
    );
  }
  return svg(options.chart, options.title, [
    ...parts,
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" class="axis"/>`,
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" class="axis"/>`,
    `<text x="${(W + PAD.left) / 2}" y="${H - 8}" text-anchor="middle" class="label">${escapeXml(options.xLabel)}</text>`,
    `<text x="14" y="${(H - PAD.bottom + PAD.top) / 2}" text-anchor="middle" class="label" transform="rotate(-90 14 ${(H - PAD.bottom + PAD.top) / 2})">${escapeXml(options.yLabel)}</text>`,
  ]);
}

/** The axes of the threshold curves metrics.ts computes: ROC is recall against the false-positive rate, PR precision against recall. */
const CURVE_AXES = {
  roc: { xLabel: 'false-positive rate', yLabel: 'recall (true-positive rate)' },
  pr: { xLabel: 'recall', yLabel: 'precision' },
} as const;

/** A ROC or PR chart (the run's report, the console's comparison): the unit square, the curve's axes, any threshold markers. */
export function curveChart(
  which: 'roc' | 'pr',
  options: { chart: string; title: string; series: Series[]; markers?: Marker[] },
): string {
  return lineChart({ ...options, ...CURVE_AXES[which], x: [0, 1], y: [0, 1] });
}

/** The 2x2 confusion matrix with counts and shares of each true class. */
export function confusionMatrix(c: { tp: number; fp: number; tn: number; fn: number }): string {
  const cell = (x: number, y: number, label: string, n: number, of: number, good: boolean) => {
    const share = of === 0 ? 0 : n / of;
    return [
      `<rect x="${x}" y="${y}" width="150" height="90" class="${good ? 'good' : 'bad'}" style="opacity:${(0.25 + 0.75 * share).toFixed(2)}"/>`,
      `<text x="${x + 75}" y="${y + 40}" text-anchor="middle" class="count">${n}</text>`,
      `<text x="${x + 75}" y="${y + 64}" text-anchor="middle">${escapeXml(label)} · ${(100 * share).toFixed(2)} %</text>`,
    ].join('');
  };
  const positives = c.tp + c.fn;
  const negatives = c.tn + c.fp;
  return svg(
    'confusion',
    'Confusion matrix on the held-out split',
    [
      '<text x="240" y="18" text-anchor="middle" class="label">predicted</text>',
      '<text x="165" y="40" text-anchor="middle">0</text><text x="315" y="40" text-anchor="middle">1</text>',
      '<text x="60" y="100" text-anchor="end">actual 0</text><text x="60" y="190" text-anchor="end">actual 1</text>',
      cell(90, 50, 'TN', c.tn, negatives, true),
      cell(240, 50, 'FP', c.fp, negatives, false),
      cell(90, 145, 'FN', c.fn, positives, false),
      cell(240, 145, 'TP', c.tp, positives, true),
    ],
    '0 0 480 250',
  );
}

/** Horizontal bars, one per row, each split into negatives and positives. */
export function classBalance(rows: Array<{ name: string; negatives: number; positives: number }>): string {
  const max = Math.max(...rows.map((r) => r.negatives + r.positives), 1);
  const parts = rows.flatMap((r, i) => {
    const y = 30 + i * 50;
    const wNeg = (r.negatives / max) * 300;
    const wPos = Math.max((r.positives / max) * 300, r.positives > 0 ? 2 : 0);
    return [
      `<text x="90" y="${y + 20}" text-anchor="end">${escapeXml(r.name)}</text>`,
      `<rect x="100" y="${y}" width="${wNeg.toFixed(1)}" height="28" class="neg"/>`,
      `<rect x="${(100 + wNeg).toFixed(1)}" y="${y}" width="${wPos.toFixed(1)}" height="28" class="pos"/>`,
      `<text x="${(106 + wNeg + wPos).toFixed(1)}" y="${y + 19}">${r.positives} positive of ${r.negatives + r.positives} (${((100 * r.positives) / Math.max(r.negatives + r.positives, 1)).toFixed(2)} %)</text>`,
    ];
  });
  return svg(
    'balance',
    'Class balance of the training and held-out splits',
    parts,
    `0 0 640 ${40 + rows.length * 50}`,
  );
}

function svg(chart: string, title: string, body: string[], viewBox = `0 0 ${W} ${H}`): string {
  return `<svg viewBox="${viewBox}" role="img" aria-label="${escapeXml(title)}" data-chart="${chart}" xmlns="http://www.w3.org/2000/svg"><title>${escapeXml(title)}</title>${body.join('')}</svg>`;
}

/**
 * Permutation importance as horizontal bars (mean drop) with the confidence interval as a
 * whisker, one row per feature in `features` order; several series (versions) side by side.
 */
export function importanceBars(options: {
  chart: string;
  title: string;
  features: string[];
  series: Array<{
    name: string;
    color: string;
    values: Map<string, { mean: number; low: number; high: number }>;
  }>;
}): string {
  const { features, series } = options;
  const all = series.flatMap((s) => [...s.values.values()]);
  const lo = Math.min(0, ...all.map((v) => v.low));
  const hi = Math.max(1e-9, ...all.map((v) => v.high));
  const left = 110;
  const width = 330;
  const sx = (v: number) => left + ((v - lo) / (hi - lo)) * width;
  const rowH = 8 + 10 * series.length;
  // The legend, one line per series, above the bars.
  const top = 14 + 14 * series.length;
  const parts: string[] = [];
  features.forEach((feature, i) => {
    const y = top + i * rowH;
    parts.push(
      `<text x="${left - 6}" y="${y + rowH / 2 + 2}" text-anchor="end">${escapeXml(feature)}</text>`,
    );
    series.forEach((s, k) => {
      const v = s.values.get(feature);
      if (!v) return;
      const by = y + 2 + k * 10;
      const x0 = sx(Math.min(0, v.mean));
      parts.push(
        `<rect x="${x0.toFixed(1)}" y="${by}" width="${Math.max(1, Math.abs(sx(v.mean) - sx(0))).toFixed(1)}" height="8" fill="${s.color}" data-series="${escapeXml(s.name)}" data-feature="${escapeXml(feature)}"/>`,
        `<line x1="${sx(v.low).toFixed(1)}" x2="${sx(v.high).toFixed(1)}" y1="${by + 4}" y2="${by + 4}" stroke="#1f2328" stroke-width="1"/>`,
      );
    });
  });
  const bottom = top + features.length * rowH;
  parts.push(
    `<line x1="${sx(0)}" x2="${sx(0)}" y1="${top - 4}" y2="${bottom}" class="axis"/>`,
    `<text x="${sx(lo)}" y="${bottom + 14}" text-anchor="start">${fmt(lo)}</text>`,
    `<text x="${sx(hi)}" y="${bottom + 14}" text-anchor="end">${fmt(hi)}</text>`,
    ...series.map(
      (s, k) =>
        `<rect x="${left}" y="${6 + k * 14}" width="12" height="8" fill="${s.color}"/><text x="${left + 16}" y="${14 + k * 14}">${escapeXml(s.name)}</text>`,
    ),
  );
  return svg(options.chart, options.title, parts, `0 0 480 ${bottom + 24}`);
}
