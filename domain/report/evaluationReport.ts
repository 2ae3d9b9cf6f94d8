import type { DatasetSummary } from '../data/summary';
import type { Importance } from '../explain/permutationImportance';
import type { GateDecision } from '../gate/metricGate';
import type { CurvePoint, Evaluation } from '../ml/metrics';
import type { EpochResult } from '../ml/train';
import { renderDatasetSection } from './datasetSection';
import { renderImportanceSection } from './importanceSection';
import { classBalance, confusionMatrix, curveChart, escapeXml, lineChart, type Series } from './svgCharts';

export interface EvaluationReportInput {
  model: string;
  workflowId: string;
  /** ISO time passed in by the caller (domain code reads no clock). */
  createdAt: string;
  backend: string;
  evaluation: Evaluation;
  history: EpochResult[];
  balance: { trainRows: number; trainPositives: number; testRows: number; testPositives: number };
  gate?: GateDecision;
  /** The production version, scored on the same held-out rows. */
  champion?: { version: number; evaluation: Evaluation };
  /** The training data's summary: its statistics and schema get a section of their own. */
  dataset?: DatasetSummary;
  /** Permutation importance on the held-out rows. */
  importance?: Importance;
}

const COLORS = {
  candidate: '#1f6feb',
  champion: '#8250df',
  loss: '#1f6feb',
  valLoss: '#d1242f',
  recall: '#1a7f37',
  fpr: '#bf8700',
};

const points = (curve: CurvePoint[]) => curve.map((p) => ({ x: p.x, y: p.y }));
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;

/**
 * One self-contained HTML page per pipeline run (inline SVG and CSS, no script, no external
 * resource), for the people who approve a model: figures, confusion matrix, PR and ROC curves with
 * the threshold marked, training curves, class balance, and the champion overlaid when there is one.
 */
export function renderEvaluationReport(input: EvaluationReportInput): string {
  const e = input.evaluation;
  const champ = input.champion;
  const curve = (which: 'pr' | 'roc'): Series[] => [
    { name: 'this run', points: points(e[which]), color: COLORS.candidate },
    ...(champ
      ? [
          {
            name: `champion v${champ.version}`,
            points: points(champ.evaluation[which]),
            color: COLORS.champion,
            dashed: true,
          },
        ]
      : []),
  ];
  const at = `threshold ${e.threshold}`;
  const pr = curveChart('pr', {
    chart: 'pr',
    title: 'Precision-recall curve',
    series: curve('pr'),
    markers: [{ x: e.recall, y: e.precision, label: at }],
  });
  const roc = curveChart('roc', {
    chart: 'roc',
    title: 'ROC curve',
    series: [
      ...curve('roc'),
      {
        name: 'chance',
        points: [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
        color: '#8c959f',
        dashed: true,
      },
    ],
    markers: [{ x: e.fpr, y: e.recall, label: at }],
  });
  const epochs = input.history;
  const training = lineChart({
    chart: 'training',
    title: 'Training curves per epoch',
    xLabel: 'epoch',
    yLabel: 'value',
    series: [
      { name: 'loss', points: epochs.map((h) => ({ x: h.epoch, y: h.loss })), color: COLORS.loss },
      ...(epochs.some((h) => h.valLoss !== undefined)
        ? [heldOutSeries(epochs, 'valLoss', { name: 'held-out loss', color: COLORS.valLoss })]
        : []),
      ...(epochs.some((h) => h.valRecall !== undefined)
        ? [
            heldOutSeries(epochs, 'valRecall', { name: 'held-out recall', color: COLORS.recall }),
            heldOutSeries(epochs, 'valFpr', { name: 'held-out FPR', color: COLORS.fpr, dashed: true }),
          ]
        : []),
    ],
    x: [Math.min(1, epochs.length), Math.max(epochs.length, 2)],
  });
  const b = input.balance;
  const figures: Array<[string, string]> = [
    ['precision', e.precision.toFixed(4)],
    ['recall', e.recall.toFixed(4)],
    ['false-positive rate', pct(e.fpr)],
    ['F1', e.f1.toFixed(4)],
    ['ROC-AUC', e.rocAuc.toFixed(4)],
    ['PR-AUC', e.prAuc.toFixed(4)],
    ['threshold', String(e.threshold)],
    ['backend', input.backend],
    ['epochs', String(epochs.length)],
  ];
  const gate = input.gate
    ? `<section><h2>Metric gate: ${input.gate.blessed ? '<span class="ok">passed</span>' : '<span class="no">blocked</span>'}</h2><ul>${input.gate.checks
        .map(
          (c) => `<li class="${c.passed ? 'ok' : 'no'}">${c.passed ? '✓' : '✗'} ${escapeXml(c.message)}</li>`,
        )
        .join('')}</ul></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(`Evaluation of ${input.model} (${input.workflowId})`)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1040px;color:#1f2328;padding:0 1rem}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
.meta{color:#59636e}.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
table{border-collapse:collapse}td{padding:.15rem .8rem .15rem 0}td:first-child{color:#59636e}
svg{width:100%;height:auto;background:#fff;border:1px solid #d1d9e0;border-radius:6px}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}svg .label{font-size:12px;fill:#59636e}
svg .grid{stroke:#eef1f4}svg .axis{stroke:#59636e}svg .marker{fill:#d1242f;stroke:#fff;stroke-width:2}
svg .marker-label{fill:#d1242f;font-weight:600}svg .count{font-size:22px;font-weight:600}
svg .good{fill:#1a7f37}svg .bad{fill:#d1242f}svg .neg{fill:#8c959f}svg .pos{fill:#d1242f}
.ok{color:#1a7f37}.no{color:#d1242f}ul{padding-left:1.2rem}
table.stats th{text-align:left;padding-right:.8rem;color:#59636e;font-weight:500}table.stats td:first-child{color:#1f2328}
svg.spark{width:120px;height:24px;border:0;border-radius:0}svg.spark rect{fill:#1f6feb}
</style></head><body>
<h1>${escapeXml(input.model)}: evaluation on the held-out split</h1>
<p class="meta">run ${escapeXml(input.workflowId)} · ${escapeXml(input.createdAt)} · ${e.positives} positive and ${e.negatives} negative held-out rows${champ ? ` · compared with champion v${champ.version} on the same rows` : ''}</p>
<section class="grid2"><div><h2>Figures at the threshold</h2><table>${figures
    .map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(v)}</td></tr>`)
    .join('')}</table></div><div><h2>Confusion matrix</h2>${confusionMatrix(e)}</div></section>
${gate}
<section class="grid2"><div><h2>Precision and recall</h2>${pr}</div><div><h2>ROC</h2>${roc}</div></section>
<section class="grid2"><div><h2>Training</h2>${training}</div><div><h2>Class balance</h2>${classBalance([
    { name: 'training', negatives: b.trainRows - b.trainPositives, positives: b.trainPositives },
    { name: 'held out', negatives: b.testRows - b.testPositives, positives: b.testPositives },
  ])}</div></section>
${input.importance ? renderImportanceSection(input.importance) : ''}
${input.dataset ? renderDatasetSection(input.dataset) : ''}
</body></html>
`;
}

/** A held-out curve over the epochs that measured `key` (an epoch without a held-out pass has none). */
function heldOutSeries(
  epochs: EpochResult[],
  key: 'valLoss' | 'valRecall' | 'valFpr',
  look: Omit<Series, 'points'>,
): Series {
  return {
    ...look,
    points: epochs.filter((h) => h[key] !== undefined).map((h) => ({ x: h.epoch, y: h[key] as number })),
  };
}
