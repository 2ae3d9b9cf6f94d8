import { describe, expect, it } from 'vitest';
import { oldestFirst } from '../../domain/validation/monitoring';

describe('monitored batches, oldest first', () => {
  it('orders by the recorded instant, not by the key (which stops at the second and then hashes)', () => {
    // Two batches in one second: the later one's hash sorts first.
    const batches = [
      { id: '20261130T012200Z-0000aaaaaaaa', recordedAt: '2026-11-30T01:22:00.900Z' },
      { id: '20261130T012200Z-ffff00000000', recordedAt: '2026-11-30T01:22:00.100Z' },
      { id: '20261130T012159Z-123456789abc', recordedAt: '2026-11-30T01:21:59.999Z' },
    ];
    expect(oldestFirst(batches).map((b) => b.recordedAt)).toEqual([
      '2026-11-30T01:21:59.999Z',
      '2026-11-30T01:22:00.100Z',
      '2026-11-30T01:22:00.900Z',
    ]);
    expect(batches[0]?.recordedAt).toBe('2026-11-30T01:22:00.900Z'); // the input is left as it was
  });
});
