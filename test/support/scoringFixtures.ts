import { Readable, Writable } from 'node:stream';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { buildModel } from '../../domain/ml/modelBuilder';
import type { ModelSpec } from '../../domain/ml/modelSpec';
import { fitStandardScaler } from '../../domain/ml/scaler';
import { exportToOnnx } from '../../domain/onnx/exporter';

/** The synthetic fraud data's feature columns (all but Class), in generator order. */
export const FRAUD_FEATURES = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);

/**
 * An ONNX file of an untrained network (seeded Glorot weights) over the fraud features, its
 * scaler fitted on a few generated rows: real export, no training time. Scores are meaningless
 * but deterministic, which is all scoring tests and benchmarks need.
 */
export function untrainedFraudOnnx(spec: ModelSpec, sampleRows = 2_000): Uint8Array {
  const n = FRAUD_FEATURES.length;
  const x = new Float32Array(sampleRows * n);
  let i = 0;
  for (const row of syntheticFraudRows({ rows: sampleRows, seed: 7 })) x.set(row.slice(0, n), n * i++);
  const scaler = fitStandardScaler(x, sampleRows, n, [...FRAUD_FEATURES]);
  const model = buildModel(spec, n);
  try {
    return exportToOnnx({
      model,
      spec,
      scaler,
      threshold: 0.5,
      metadata: {
        modelName: 'fraud-bench',
        features: [...FRAUD_FEATURES],
        target: 'Class',
        producerVersion: '0.1.0',
        datasetSha256: 'b'.repeat(64),
        runId: 'scoring-fixture',
      },
    });
  } finally {
    model.dispose();
  }
}

/**
 * A synthetic fraud CSV of `rows` rows (id first, then Time, V1..V28, Amount, Class), made
 * lazily in chunks of 1,000 rows, so a test can stream far more data than it ever holds.
 * The first `distinct` generated rows repeat (under new ids): generating every row would cost
 * more time than scoring it.
 */
export function syntheticFraudCsv(rows: number, distinct = 2_000): Readable {
  const pool = [...syntheticFraudRows({ rows: Math.min(rows, distinct), seed: 1 })].map((r) => r.join(','));
  return Readable.from(
    (function* () {
      yield `id,${SYNTHETIC_FRAUD_COLUMNS.join(',')}\n`;
      for (let start = 0; start < rows; start += 1_000) {
        const lines: string[] = [];
        for (let i = start; i < Math.min(rows, start + 1_000); i++)
          lines.push(`tx-${i},${pool[i % pool.length]}`);
        yield `${lines.join('\n')}\n`;
      }
    })(),
    { objectMode: false },
  );
}

/** A sink that only counts bytes, acknowledging each write on a later turn (a slowish consumer). */
export function countingSink(): Writable & { bytes: number } {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      sink.bytes += chunk.length;
      setImmediate(done);
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}
