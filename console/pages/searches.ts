import { describeCancellation, describeFailure } from '../../application/runs';
import type { SearchSummary, SearchView, TrialView } from '../../application/searches';
import { lineChart } from '../../domain/report/svgCharts';
import { type Html, html, raw } from '../html';
import { links, type TemporalUiLinks } from '../links';
import { maybeLink, when } from './format';

const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#8250df', '#bf8700', '#59636e'];
const loss = (v: number | undefined) => (v === undefined ? '-' : v.toPrecision(4));
const settingsText = (settings: Record<string, number | string>) =>
  Object.entries(settings)
    .map(([k, v]) => `${k.replace(/^spec\./, '')}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
    .join(' ');

/** The searches (`slipway tune`), newest first: how each ended and, once completed, its winner. */
export function searchesPage(searches: SearchSummary[], temporal: TemporalUiLinks): Html {
  return html`<h1>Searches</h1>
<p class="muted">Hyperparameter searches started with <code>slipway tune</code>; each trial trained as a child workflow on the training workers.</p>
${
  searches.length === 0
    ? html`<p class="muted">No searches yet.</p>`
    : html`<table class="list" data-table="searches"><thead><tr><th>search</th><th>model</th><th>started</th><th>duration</th><th>outcome</th><th>method</th><th>trials</th><th>winner</th><th>val loss</th><th>version</th></tr></thead><tbody>
${searches.map(
  (s) => html`<tr data-workflow-id="${s.workflowId}" data-outcome="${s.outcome}">
<td><a href="${links.search(s.workflowId)}"><code>${s.workflowId}</code></a> ${maybeLink(temporal.run(s.workflowId, s.runId), 'Temporal', 'open the run in the Temporal Web UI')}</td>
<td>${s.model ?? '-'}</td><td>${when(s.startedAt)}</td>
<td>${s.seconds === undefined ? '-' : `${s.seconds.toFixed(0)} s`}</td>
<td>${s.outcome}${s.failure ? html`<br><span class="muted">${describeFailure(s.failure)}</span>` : ''}${s.cancellation ? html`<br><span class="muted">${describeCancellation(s.cancellation)}</span>` : ''}</td>
<td>${s.method ?? '-'}</td><td>${s.trials ?? '-'}</td>
<td>${s.best ? html`trial ${s.best.trial} <span class="muted">${settingsText(s.best.settings)}</span>` : '-'}</td>
<td>${loss(s.best?.objective)}</td>
<td>${s.model && s.version ? html`<a href="${links.version(s.model, s.version)}">v${s.version}</a>` : '-'}</td></tr>`,
)}</tbody></table>`
}`;
}

/**
 * One search (application/searches.ts, the same reading `slipway status` prints): every trial with
 * its settings, validation curve, final loss, how it ended and why, and the child workflows and
 * workers that trained it; the winner marked, and the curves overlaid.
 */
export function searchPage(search: SearchView, temporal: TemporalUiLinks): Html {
  const tune = search.tune;
  const head = html`<h1>Search <code>${search.workflowId}</code></h1>
<p data-search-outcome="${search.outcome}">${search.outcome}${search.model ? ` · ${search.model}` : ''}${
    search.model && search.version
      ? html` · registered as <a href="${links.version(search.model, search.version)}">v${search.version}</a>`
      : ''
  } · ${maybeLink(temporal.run(search.workflowId, search.runId), search.workflowId, 'open the run in the Temporal Web UI')}</p>
${search.failure ? html`<p class="error" data-failure>${describeFailure(search.failure)}</p>` : ''}${
  search.cancellation ? html`<p class="muted">${describeCancellation(search.cancellation)}</p>` : ''
}`;
  if (!tune)
    return html`${head}<p class="muted">No trials to show: the search stopped before its trials, or no worker answered.</p>`;
  const winner = tune.trials.find((t) => t.trial === tune.best);
  const curves = tune.trials.filter((t) => t.curve.some((e) => e.valLoss !== undefined));
  return html`${head}
<p>${tune.method}, ${tune.trials.length} trials, at most ${tune.parallel} at once, seed ${tune.seed}${
    tune.rungs.length > 1
      ? `; rungs: ${tune.rungs.map((r) => `${r.trials} x ${r.epochs} epochs`).join(', ')} (now rung ${tune.rung + 1})`
      : ''
  }.</p>
${
  winner
    ? html`<p data-winner="${winner.trial}"><strong>Winner: trial ${winner.trial}</strong>, validation loss ${loss(winner.objective)}, ${settingsText(winner.settings)}</p>`
    : ''
}
<table class="list" data-table="trials"><thead><tr><th>trial</th><th>settings</th><th>status</th><th>epochs</th><th>validation curve</th><th>val loss</th><th>trained by</th><th>note</th></tr></thead><tbody>
${tune.trials.map((t) => trialRow(t, t.trial === tune.best, temporal))}</tbody></table>
${
  curves.length === 0
    ? ''
    : html`<figure>${raw(
        lineChart({
          chart: 'trial-curves',
          title: 'Validation loss of every trial, by epoch',
          xLabel: 'epoch',
          yLabel: 'validation loss',
          series: curves.map((t, i) => ({
            name: `trial ${t.trial}${t.trial === tune.best ? ' (winner)' : ''}`,
            color: COLORS[i % COLORS.length] as string,
            dashed: t.status === 'stopped' || t.status === 'failed',
            points: t.curve.flatMap((e) => (e.valLoss === undefined ? [] : [{ x: e.epoch, y: e.valLoss }])),
          })),
        }),
      )}</figure>`
}`;
}

function trialRow(t: TrialView, best: boolean, temporal: TemporalUiLinks): Html {
  return html`<tr data-trial="${t.trial}" data-status="${t.status}"${best ? html` data-best class="best"` : ''}>
<td>${t.trial}${best ? ' *' : ''}</td><td><code>${settingsText(t.settings)}</code></td><td>${t.status}</td>
<td>${t.epochsRun}</td>
<td data-curve>${t.curve.map((e) => loss(e.valLoss)).join(' → ') || '-'}</td><td>${loss(t.objective)}</td>
<td>${t.runs.map(
    (r) =>
      html`<div data-child="${r.workflowId}">${maybeLink(temporal.run(r.workflowId), r.workflowId, 'the child workflow in the Temporal Web UI')} on <strong data-worker>${r.worker ?? '-'}</strong>${
        r.attempt !== undefined && r.attempt > 1
          ? html` <span class="muted">(attempt ${r.attempt})</span>`
          : ''
      }</div>`,
  )}</td>
<td>${t.stopReason ?? t.error ?? ''}</td></tr>`;
}
