/**
 * The fault script (`npm run test:faults`): runs every fault scenario against a Slipway
 * installation of its own (Temporal with a persistent database, MinIO, two worker processes) and
 * prints trials run and survived. `--rounds N` repeats the whole set; `--concurrent N` sizes the
 * crowd (default 20). Exits non-zero when any run failed, anything was lost, or any scenario noted
 * a problem (training restarted from epoch 0, versions not contiguous).
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FaultLab, type FaultReport, reportTable } from './harness';
import { manyAtOnce, storageOutage, temporalRestarted, workerKilledMidTraining } from './scenarios';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '1' }, concurrent: { type: 'string', default: '20' } },
  });
  const rounds = Number(values.rounds);
  const concurrent = Number(values.concurrent);
  const reports: FaultReport[] = [];
  for (let round = 1; round <= rounds; round++) {
    const lab = new FaultLab(join(tmpdir(), `slipway-faults-${Date.now()}`));
    await lab.start();
    try {
      for (const scenario of [workerKilledMidTraining, temporalRestarted, storageOutage]) {
        const report = await scenario(lab);
        process.stderr.write(`round ${round}: ${report.fault}: ${report.completed}/${report.trials}\n`);
        reports.push(report);
      }
      reports.push(await manyAtOnce(lab, { concurrent }));
    } finally {
      await lab.stop();
    }
  }
  const merged = new Map<string, FaultReport>();
  for (const r of reports) {
    const m = merged.get(r.fault);
    if (!m) merged.set(r.fault, { ...r, notes: [...r.notes] });
    else {
      m.trials += r.trials;
      m.completed += r.completed;
      m.artifactsVerified += r.artifactsVerified;
      m.dataLost += r.dataLost;
      m.notes.push(...r.notes);
    }
  }
  const table = reportTable([...merged.values()]);
  process.stdout.write(`${table}\n`);
  for (const r of merged.values())
    for (const note of r.notes) process.stdout.write(`- ${r.fault}: ${note}\n`);
  await writeFile(join(tmpdir(), 'slipway-faults.json'), JSON.stringify([...merged.values()], null, 2));
  // Any note is a failure: a restart from epoch 0, versions out of step, a run that failed.
  const ok = [...merged.values()].every(
    (r) => r.completed === r.trials && r.dataLost === 0 && r.notes.length === 0,
  );
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
