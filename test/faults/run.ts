/**
 * The fault suite (`npm run test:faults`): runs every fault scenario against a Slipway
 * installation of its own (Temporal with a persistent database, MinIO, two worker processes),
 * three trials each by default, and prints a table of trials, runs, completed, failed cleanly,
 * lost and the epoch killed trainings resumed from. `--rounds N` sets the trials; `--concurrent
 * N` sizes the crowd (default 20); `--only a,b` runs some scenarios (names in scenarios.ts).
 * Exits non-zero when any run failed unexpectedly, anything was lost, a scenario could not perform
 * its fault, or any scenario noted a problem (training restarted from epoch 0, versions not
 * contiguous).
 */
import { rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FaultLab, type FaultReport, mergeReports, passed, reportTable } from './harness';
import { allScenarios } from './scenarios';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      concurrent: { type: 'string', default: '20' },
      only: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  const concurrent = Number(values.concurrent);
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((name) => !allScenarios.some(([n]) => n === name)) ?? [];
  if (unknown.length > 0)
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; known: ${allScenarios.map(([n]) => n).join(', ')}`,
    );
  const chosen = allScenarios.filter(([name]) => !only || only.includes(name));
  const started = new Date();
  const load = [loadavg()[0]];
  const reports: FaultReport[] = [];
  for (let round = 1; round <= rounds; round++) {
    const dir = join(tmpdir(), `slipway-faults-${Date.now()}`);
    const lab = new FaultLab(dir);
    await lab.start();
    try {
      for (const [name, scenario] of chosen) {
        const began = Date.now();
        const report = await scenario(lab, { concurrent }).catch(
          (error: Error): FaultReport => ({
            fault: name,
            trials: 1,
            runs: 0,
            completed: 0,
            failedCleanly: 0,
            artifactsVerified: 0,
            dataLost: 0,
            resumedFrom: [],
            notes: [`scenario failed: ${error.message}`],
          }),
        );
        const seconds = ((Date.now() - began) / 1000).toFixed(0);
        process.stderr.write(
          `round ${round}: ${report.fault}: ${report.completed} completed, ${report.failedCleanly} failed cleanly of ${report.runs} (${seconds} s)\n`,
        );
        for (const note of report.notes) process.stderr.write(`  - ${note}\n`);
        reports.push(report);
        load.push(loadavg()[0]);
      }
    } finally {
      await lab.stop();
      // Each round's services, data and logs (hundreds of MB) go with it.
      await rm(dir, { recursive: true, force: true });
    }
  }
  const merged = mergeReports(reports);
  const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
  process.stdout.write(
    `${started.toISOString()}, ${minutes} min, ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ` +
      `load average ${Math.min(...load).toFixed(1)} to ${Math.max(...load).toFixed(1)}\n\n`,
  );
  process.stdout.write(`${reportTable(merged)}\n`);
  for (const r of merged) for (const note of r.notes) process.stdout.write(`- ${r.fault}: ${note}\n`);
  await writeFile(join(tmpdir(), 'slipway-faults.json'), JSON.stringify(merged, null, 2));
  // Any note is a failure: a restart from epoch 0, versions out of step, a run that failed.
  process.exitCode = merged.every(passed) ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
