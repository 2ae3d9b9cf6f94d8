import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stopProcessGroup } from '../../infra/processes';
import type { PipelineWorld } from './pipelineWorld';

const SLIPWAY = resolve(__dirname, '../../bin/slipway');

/**
 * `slipway worker` processes on a pipeline world's queues, each a host of its own: its own state
 * folder (a fresh one unless `env` names one) and its log in `<world dir>/<name>.log`.
 */
export class WorkerProcesses {
  private readonly processes = new Map<string, ChildProcess>();
  constructor(private readonly world: PipelineWorld) {}

  async start(
    name: string,
    options: { queues?: Array<'main' | 'training'>; env?: Record<string, string> } = {},
  ): Promise<void> {
    const queues = options.queues ?? ['training'];
    const state = options.env?.SLIPWAY_STATE_DIR ?? (await mkdtemp(join(this.world.dir, `${name}-state-`)));
    const log = await open(join(this.world.dir, `${name}.log`), 'a');
    const child = spawn(SLIPWAY, ['worker', '--queues', queues.join(','), '--identity', name], {
      env: { ...process.env, ...this.world.env, SLIPWAY_STATE_DIR: state, ...options.env },
      stdio: ['ignore', log.fd, log.fd],
      detached: true,
    });
    child.once('exit', () => void log.close());
    this.processes.set(name, child);
  }

  /** Waits until the named workers poll the queue for activities. */
  async polling(names: string[], queue: string, timeoutMs = 45_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const described = await this.world.client.workflowService.describeTaskQueue({
        namespace: this.world.config.namespace,
        taskQueue: { name: queue },
        taskQueueType: 2, // activity
      });
      const seen = new Set((described.pollers ?? []).map((p) => p.identity));
      if (names.every((n) => seen.has(n))) return;
      if (Date.now() > deadline)
        throw new Error(`workers not polling after ${timeoutMs} ms: saw ${[...seen]}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** SIGKILL, as a host that loses power: no shutdown, no goodbye to Temporal. */
  async kill(name: string): Promise<void> {
    const child = this.processes.get(name);
    if (!child?.pid) throw new Error(`no worker ${name}`);
    this.processes.delete(name);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    await stopProcessGroup(child.pid, 5_000);
  }

  async stopAll(): Promise<void> {
    for (const [name, child] of this.processes) {
      this.processes.delete(name);
      if (child.pid) await stopProcessGroup(child.pid, 10_000);
    }
  }
}
