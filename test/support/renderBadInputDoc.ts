import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type BadInputCase, badInputCases } from './badInputCases';

/** Where the rendered matrix lives; test/unit/badInputDoc.test.ts compares it with the table. */
export const BAD_INPUT_DOC = resolve(__dirname, '../../docs/bad-input-matrix.md');

/** Text as a Markdown code span that survives backticks and table pipes inside it. */
function code(text: string): string {
  const escaped = text.replace(/\|/g, '\\|');
  // Inner backticks need a longer fence, padded so one at either end does not join it.
  return text.includes('`') ? `\`\` ${escaped} \`\`` : `\`${escaped}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Where the input is stopped, as the test checks it. */
function refusedAt(c: BadInputCase): string {
  if (c.outcome === 'warned') return 'accepted, with a warning';
  if (c.reaches?.activity) return `${c.reaches.activity} activity of ${c.reaches.workflow}, attempt 1 only`;
  if (c.reaches) return `${c.reaches.workflow} input validation, before any activity`;
  if (c.area === 'approval') return "the run's review: no decision recorded, nothing started";
  return 'the command, before any workflow starts';
}

/** The whole document, from the table only, so it can be regenerated and compared. */
export function renderBadInputDoc(cases: readonly BadInputCase[]): string {
  const rows = cases.map((c) =>
    [
      code(c.id),
      c.area,
      cell(c.input),
      code(c.entry),
      c.problem.map(code).join('<br>'),
      code(c.hint),
      refusedAt(c),
    ].join(' | '),
  );
  return [
    '# Bad-input matrix',
    '',
    '<!-- Generated from test/support/badInputCases.ts by `npm run docs:bad-input`; do not edit by hand. -->',
    '',
    `Every way of handing Slipway something wrong that the project tests: ${cases.length} cases. Each row is a`,
    'test in `test/integration/badInput.test.ts`, run on the real Temporal server and MinIO through the entry',
    'point a person would use (`bin/slipway` in a child process, or a workflow started with the Temporal',
    'client). For every refused row the test checks that:',
    '',
    '1. the message contains every fragment under "message names" (the problem, and for data the file, row',
    '   and column) and the "what to do" fragment;',
    "2. there is no retry loop: the input is refused before any workflow starts, or by the workflow's own",
    '   input validation before any activity, or by one activity that ran exactly once (the history holds a',
    '   single attempt and a non-retryable failure) while the workflow failed;',
    '3. nothing is left behind: the artifact store (registry, versions, aliases, audit log, artifacts) is',
    '   byte-for-byte the listing it was before, apart from the lineage record of the failed step (kept on',
    '   purpose, outcome "failed", no outputs), and no output file a command was asked to write exists.',
    '',
    'No answer may contain the S3 secret key in use or the wrong one a row passes.',
    '',
    '| id | area | input | entry point | message names | what to do | refused at |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r} |`),
    '',
  ].join('\n');
}

if (require.main === module) {
  writeFileSync(BAD_INPUT_DOC, renderBadInputDoc(badInputCases));
  process.stdout.write(`Wrote ${BAD_INPUT_DOC} (${badInputCases.length} cases)\n`);
}
