/**
 * The console's only stylesheet and script, served from the console itself (no CDN: the machines
 * it runs on may have no internet). The script does one thing: send a decision as a same-origin
 * JSON POST and show the answer, the workflow's refusal included, next to the buttons.
 */
export const CONSOLE_CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{display:flex;gap:1.5rem;align-items:center;padding:.6rem 1.5rem;background:#24292f;color:#fff}
header a{color:#fff;text-decoration:none}header nav{display:flex;gap:1rem;flex:1}
header nav a[aria-current]{border-bottom:2px solid #fff}.brand{font-weight:700}.who{color:#d0d7de}
main{max-width:1200px;margin:1.2rem auto;padding:0 1.5rem;background:#fff;border:1px solid #d1d9e0;border-radius:6px;padding:1rem 1.5rem 2rem}
h1{font-size:1.4rem}h2{font-size:1.05rem;margin-top:1.6rem}a{color:#0969da}
table.list{border-collapse:collapse;width:100%}table.list th,table.list td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #d1d9e0;vertical-align:top}
table.facts th{text-align:left;color:#59636e;font-weight:normal;padding-right:1rem;vertical-align:top}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:1.5rem}
.badge{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:12px;border:1px solid currentColor;text-decoration:none}
.badge.ok,.ok{color:#1a7f37}.badge.no,.no{color:#d1242f}.badge.alias{color:#8250df}
.muted{color:#59636e}.error{color:#d1242f;font-weight:600}
ul.checks{padding-left:1.2rem}pre{background:#f6f8fa;padding:.8rem;overflow:auto;border-radius:6px;white-space:pre-wrap}
iframe.report{width:100%;height:1180px;border:1px solid #d1d9e0;border-radius:6px}
.graph{overflow:auto;text-align:center;border:1px solid #d1d9e0;border-radius:6px;background:#fff}
svg.lineage text{font:11px system-ui,sans-serif;fill:#1f2328}svg.lineage .head{font-weight:600}
svg.lineage .edge path{fill:none;stroke:#8c959f;stroke-width:1.3}svg.lineage .edge text{fill:#59636e;font-size:10px}
svg.lineage marker path{fill:#8c959f}
svg.lineage .artifact rect{fill:#f6f8fa;stroke:#8c959f}svg.lineage .execution rect{fill:#ddf4ff;stroke:#0969da}
svg.lineage .model rect{fill:#fbefff;stroke:#8250df;stroke-width:2}
form.decide input{width:16rem;padding:.25rem}form.decide button{padding:.25rem .8rem;cursor:pointer}
form.decide p{margin:.3rem 0 0}.outcome.ok{color:#1a7f37;font-weight:600}.outcome.error{color:#d1242f;font-weight:600}
tr.damaged td{color:#d1242f}code.details{font-size:12px;word-break:break-all}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:1rem}
.grid2 svg{width:100%;height:auto;background:#fff;border:1px solid #d1d9e0;border-radius:6px}
.grid2 svg text{font:11px system-ui,sans-serif;fill:#1f2328}.grid2 svg .label{font-size:12px;fill:#59636e}
.grid2 svg .grid{stroke:#eef1f4}.grid2 svg .axis{stroke:#59636e}.grid2 svg .count{font-size:22px;font-weight:600}
.grid2 svg .good{fill:#1a7f37}.grid2 svg .bad{fill:#d1242f}
`;

export const CONSOLE_JS = `'use strict';
document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains('decide')) return;
  event.preventDefault();
  const action = event.submitter && event.submitter.value === 'reject' ? 'reject' : 'approve';
  const outcome = form.querySelector('[data-outcome]');
  const buttons = [...form.querySelectorAll('button')];
  const show = (kind, text) => {
    outcome.className = 'outcome ' + kind;
    outcome.dataset.result = kind;
    outcome.textContent = text;
  };
  buttons.forEach((b) => (b.disabled = true));
  show('busy', action === 'approve' ? 'Approving…' : 'Rejecting…');
  try {
    const response = await fetch(form.dataset[action], {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ reason: form.elements.namedItem('reason').value }),
    });
    const body = await response.json().catch(() => ({
      error: 'The console answered ' + response.status + ' ' + response.statusText + ' without an explanation.',
    }));
    if (response.ok) {
      show('ok', body.decision + ' by ' + body.approver + ': ' + body.reason +
        '. The run goes on from here (promotion, alias, audit log); this row leaves the list on reload.');
      return;
    }
    show('error', (response.status === 409 ? 'Refused: ' : 'Error: ') + body.error);
  } catch (err) {
    show('error', 'Could not reach the console (' + err.message + '). Is slipway console still running?');
  }
  buttons.forEach((b) => (b.disabled = false));
});
`;
