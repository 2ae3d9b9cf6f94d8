import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { badInputCases } from '../support/badInputCases';
import { BAD_INPUT_DOC, renderBadInputDoc } from '../support/renderBadInputDoc';

describe('docs/bad-input-matrix.md', () => {
  it('is the rendering of the bad-input table (run `npm run docs:bad-input` after changing it)', () => {
    const onDisk = readFileSync(BAD_INPUT_DOC, 'utf8');
    expect(onDisk, 'docs/bad-input-matrix.md is out of date: run `npm run docs:bad-input`').toBe(
      renderBadInputDoc(badInputCases),
    );
  });

  it('has one row per case', () => {
    const rows = readFileSync(BAD_INPUT_DOC, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    expect(rows).toHaveLength(badInputCases.length);
    for (const c of badInputCases) expect(rows.some((r) => r.startsWith(`| \`${c.id}\` |`))).toBe(true);
  });
});
