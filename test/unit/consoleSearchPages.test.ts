import { describe, expect, it } from 'vitest';
import type { SearchSummary, SearchView } from '../../application/searches';
import { temporalUiLinks } from '../../console/links';
import { searchesPage, searchPage } from '../../console/pages/searches';

const temporal = temporalUiLinks('http://ui.example', 'default');

/** A halving search as searchView reads it: one trial stopped, one retried on another worker, the winner. */
const search: SearchView = {
  workflowId: 'tune-abc',
  runId: 'r1',
  workflowType: 'tuneToDeploy',
  status: 'COMPLETED',
  outcome: 'registered',
  model: 'tuned-fraud',
  version: 3,
  tune: {
    method: 'halving',
    parallel: 2,
    seed: 9,
    rungs: [
      { epochs: 1, trials: 2 },
      { epochs: 3, trials: 1 },
    ],
    rung: 1,
    best: 2,
    trials: [
      {
        trial: 1,
        settings: { 'spec.learningRate': 0.0123456789, 'spec.layers[0].units': 8 },
        status: 'stopped',
        epochsRun: 1,
        curve: [{ epoch: 1, loss: 0.7, valLoss: 0.69 }],
        objective: 0.69,
        stopReason: 'halving rung 1 (epoch 1): validation loss 0.69 ranked 2 of 2; only the best 1 go on',
        workflowIds: ['tune-abc-trial-01-rung-1'],
        runs: [{ workflowId: 'tune-abc-trial-01-rung-1', worker: 'tw1', attempt: 1, status: 'COMPLETED' }],
      },
      {
        trial: 2,
        settings: { 'spec.learningRate': 0.004, 'spec.layers[0].units': '<b>32</b>' },
        status: 'completed',
        epochsRun: 3,
        curve: [
          { epoch: 1, loss: 0.6, valLoss: 0.5 },
          { epoch: 2, loss: 0.5, valLoss: 0.45 },
          { epoch: 3, loss: 0.4, valLoss: 0.41 },
        ],
        objective: 0.41,
        workflowIds: ['tune-abc-trial-02-rung-1', 'tune-abc-trial-02-rung-2'],
        runs: [
          { workflowId: 'tune-abc-trial-02-rung-1', worker: 'tw2', attempt: 1, status: 'COMPLETED' },
          { workflowId: 'tune-abc-trial-02-rung-2', worker: 'tw3', attempt: 2, status: 'COMPLETED' },
        ],
      },
    ],
  },
};

describe('console search pages', () => {
  it('shows every trial with its settings, curve, loss, end, child workflows and workers, and the winner', () => {
    const page = searchPage(search, temporal).text;
    expect(page).toContain('data-winner="2"');
    expect(page).toContain('registered as <a href="/models/tuned-fraud/versions/3">v3</a>');
    const rows = page.split('<tr data-trial=').slice(1);
    expect(rows).toHaveLength(2);
    const [stopped, winner] = rows as [string, string];
    expect(stopped).toContain('data-status="stopped"');
    expect(stopped).toContain('learningRate=0.01235');
    expect(stopped).toContain('halving rung 1 (epoch 1): validation loss 0.69 ranked 2 of 2');
    expect(stopped).toContain('<strong data-worker>tw1</strong>');
    expect(stopped).not.toContain('data-best');
    expect(winner).toContain('data-best');
    expect(winner).toContain('0.5000 → 0.4500 → 0.4100');
    // Each rung's child workflow, linked to the Temporal UI, with its worker; a retry says so.
    expect(winner).toContain(
      'href="http://ui.example/namespaces/default/workflows/tune-abc-trial-02-rung-2"',
    );
    expect(winner).toMatch(/tw3<\/strong> <span class="muted">\(attempt 2\)<\/span>/);
    // Settings are text, never markup.
    expect(winner).toContain('&lt;b&gt;32&lt;/b&gt;');
    expect(winner).not.toContain('<b>32</b>');
    // The curves overlaid, the stopped trial dashed.
    expect(page).toContain('data-chart="trial-curves"');
    expect(page).toMatch(/stroke-dasharray="6 4" data-series="trial 1"/);
    expect(page).toContain('data-series="trial 2 (winner)"');
  });

  it('says so when a search has no trials to show, with its cause', () => {
    const failed: SearchView = {
      workflowId: 'tune-x',
      workflowType: 'tuneToDeploy',
      status: 'FAILED',
      outcome: 'failed',
      failure: { type: 'MissingTargetColumn', message: 'no target column "Class"', step: 'extract' },
    };
    const page = searchPage(failed, temporal).text;
    expect(page).toContain('MissingTargetColumn in extract: no target column &quot;Class&quot;');
    expect(page).toContain('No trials to show');
  });

  it('lists searches with their winner and version, linking each to its page', () => {
    const listed: SearchSummary[] = [
      {
        ...search,
        startedAt: '2026-11-30T01:02:03.000Z',
        seconds: 42,
        method: 'halving',
        trials: 2,
        best: { trial: 2, objective: 0.41, settings: { 'spec.learningRate': 0.004 } },
      },
    ];
    const page = searchesPage(listed, temporal).text;
    expect(page).toContain('<a href="/searches/tune-abc"><code>tune-abc</code></a>');
    expect(page).toContain('trial 2 <span class="muted">learningRate=0.004</span>');
    expect(page).toContain('<td>0.4100</td>');
    expect(page).toContain('<a href="/models/tuned-fraud/versions/3">v3</a>');
    expect(searchesPage([], temporal).text).toContain('No searches yet.');
  });
});
