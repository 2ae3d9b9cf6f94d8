import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../../worker/workflowBundle';
import { replayWorkflowId } from '../fixtures/histories/record';
// Replay workers report only warnings and errors (the unit project has no setup file).
import '../setup/quietTemporal';

/**
 * Replays recorded histories through today's workflow code. A change that would make running
 * workflows non-deterministic (steps reordered, an activity added in the middle, a clock or
 * random number in workflow code) fails here instead of in production.
 */
const dir = join(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('workflow determinism', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('replays %s without a nondeterminism error', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    const workflowType =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle() },
      history,
      replayWorkflowId(file),
    );
    expect(workflowType.length).toBeGreaterThan(0);
  });
});
