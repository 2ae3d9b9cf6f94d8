import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeVersions } from '../../domain/registry/errors';
import { padVersion, parseVersionKey, versionKey } from '../../domain/registry/layout';
import {
  type ModelVersionDraft,
  type ModelVersionMetadata,
  modelVersionDraftSchema,
  modelVersionMetadataSchema,
} from '../../domain/registry/metadata';
import { formatInt, renderModelCard } from '../../domain/registry/modelCard';
import { modelNameSchema } from '../../domain/registry/modelName';
import type { ArtifactRef } from '../../domain/storage/artifactRef';
import { LocalArtifactStore } from '../../domain/storage/localStore';
import { FEATURES, makeDraft, storeArtifacts } from './registryFixtures';

let root: string;
let artifacts: ModelVersionDraft['artifacts'];
let metadata: ModelVersionMetadata;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'slipway-metadata-'));
  const store = new LocalArtifactStore(root);
  artifacts = await storeArtifacts(store);
  const card = await store.put('# card', {
    kind: 'model-card',
    mediaType: 'text/markdown',
    extension: '.md',
  });
  metadata = modelVersionMetadataSchema.parse({
    schemaVersion: 1,
    name: 'fraud',
    version: 3,
    ...makeDraft(artifacts),
    registration: { idempotencyKey: 'wf/run/register', modelCard: card },
  });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const issuesOf = (result: {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}) => (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);

describe('modelVersionMetadataSchema', () => {
  it('round-trips through JSON unchanged', () => {
    const text = JSON.stringify(metadata);
    expect(modelVersionMetadataSchema.parse(JSON.parse(text))).toEqual(metadata);
    // Key order is fixed by the schema, so the document bytes are too.
    expect(JSON.stringify(modelVersionMetadataSchema.parse(JSON.parse(text)))).toBe(text);
    expect(Object.keys(metadata).slice(0, 5)).toEqual([
      'schemaVersion',
      'name',
      'version',
      'features',
      'target',
    ]);
  });

  it('keeps the feature order', () => {
    expect(metadata.features).toEqual(FEATURES);
    const reversed = modelVersionDraftSchema.parse(
      makeDraft(artifacts, { features: [...FEATURES].reverse() }),
    );
    expect(reversed.features[0]).toBe('Amount');
  });

  it('refuses swapped artifact references, duplicate features, the target as a feature and a bad time', () => {
    const result = modelVersionDraftSchema.safeParse(
      makeDraft(
        { ...artifacts, scaler: artifacts.model, onnx: artifacts.dataset as ArtifactRef },
        { features: ['V1', 'Class', 'V1'], createdAt: 'yesterday' },
      ),
    );
    expect(result.success).toBe(false);
    const issues = issuesOf(result);
    expect(issues).toContain('artifacts.scaler: expected an artifact reference of kind "scaler"');
    expect(issues).toContain('artifacts.onnx: expected an artifact reference of kind "onnx"');
    expect(issues).toContain('features.2: feature "V1" is listed twice');
    expect(issues).toContain('target: the target "Class" is also listed as a feature');
    expect(issues.some((i) => i.startsWith('createdAt:'))).toBe(true);
  });

  it('refuses metrics out of range and a model spec without a sigmoid output', () => {
    const draft = makeDraft(artifacts);
    const result = modelVersionDraftSchema.safeParse({
      ...draft,
      metrics: { ...draft.metrics, recall: 1.2, tp: -1 },
      training: {
        ...draft.training,
        modelSpec: {
          ...draft.training?.modelSpec,
          layers: [{ type: 'dense', units: 2, activation: 'relu' }],
        },
      },
    });
    const paths = issuesOf(result).map((i) => i.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining(['metrics.recall', 'metrics.tp', 'training.modelSpec.layers.0']),
    );
  });

  it('requires the registration section and a positive version on stored documents', () => {
    const { registration: _, ...withoutRegistration } = metadata;
    const paths = issuesOf(modelVersionMetadataSchema.safeParse({ ...withoutRegistration, version: 0 }));
    expect(paths.map((p) => p.split(':')[0])).toEqual(expect.arrayContaining(['registration', 'version']));
    expect(modelVersionMetadataSchema.safeParse({ ...metadata, schemaVersion: 2 }).success).toBe(false);
    expect(modelNameSchema.safeParse('Fraud').success).toBe(false);
  });
});

describe('renderModelCard', () => {
  it('covers use, data, features, metrics, training, backend, lineage, parity and scoring', () => {
    const card = renderModelCard(metadata);
    for (const heading of [
      '# Model card: fraud version 3',
      '## Intended use',
      '## Data',
      '## Features and target',
      '## Metrics (held-out split, threshold 0.5)',
      '## Training',
      '## Lineage',
      '## ONNX export',
      '## How to score',
    ]) {
      expect(card).toContain(heading);
    }
    expect(card).toContain(`- Features (30, in this order): ${FEATURES.map((f) => `\`${f}\``).join(', ')}`);
    expect(card).toContain('- Target: `Class`');
    expect(card).toContain(
      '- Parity with the trained model: max absolute difference 2.38e-7 over 1,000 rows; worst error against ' +
        'the exact model 1.23 % of its float32 rounding bound (onnxruntime), 0.4 % (trainer)',
    );
    expect(card).toContain('| True positives | 88 |');
    expect(card).toContain('| True negatives | 70,678 |');
    expect(card).toContain('| Recall | 0.7857 |');
    expect(card).toContain('| PR AUC | 0.7123 |');
    expect(card).toContain(
      '75 % training (213,605 rows) / 25 % held out (71,202 rows), seed 42, not stratified',
    );
    expect(card).toContain(
      '- Network: Dense(256, relu) -> Dense(256, relu) -> Dropout(0.3) -> Dense(256, relu) -> Dropout(0.3) -> ' +
        'Dense(1, sigmoid) (139,777 parameters)',
    );
    expect(card).toContain('- Epochs: 50 run of 50 planned');
    expect(card).toContain('- Backend: `wasm-blas`');
    for (const ref of Object.values(artifacts)) expect(card).toContain(`\`${ref.sha256}\``);
    expect(card).toContain('max absolute difference 2.38e-7 over 1,000 rows');
    expect(card).toContain('567,890 bytes, 757,188 after base64 (upload limit 15,000,000)');
    expect(card).toContain('slipway apply fraud@3 --input rows.csv --output scored.csv');
    expect(card).toContain('`predicted(Class)`');
    expect(card).toContain('shape [N, 30]');
    expect(card).toContain('`@tensorflow/tfjs` 4.22.0, `onnxruntime-node` 1.30.0');
  });

  it('is deterministic and changes when the metadata does', () => {
    const again = modelVersionMetadataSchema.parse(JSON.parse(JSON.stringify(metadata)));
    expect(renderModelCard(again)).toBe(renderModelCard(metadata));
    // Package order in the input does not matter.
    const shuffled = {
      ...metadata,
      packageVersions: { 'onnxruntime-node': '1.30.0', '@tensorflow/tfjs': '4.22.0' },
    };
    expect(renderModelCard(shuffled)).toBe(renderModelCard(metadata));
    expect(renderModelCard({ ...metadata, threshold: 0.3 })).not.toBe(renderModelCard(metadata));
  });

  it('keeps odd column names from breaking the Markdown', () => {
    const card = renderModelCard({ ...metadata, features: ['a|b', 'tick`name'], target: 'y' });
    expect(card).toContain('`a\\|b`');
    expect(card).toContain('`` tick`name ``');
  });
});

describe('layout helpers', () => {
  it('pads versions so listing order is numeric order', () => {
    expect(padVersion(7)).toBe('00000007');
    const keys = [10, 9, 100, 1].map((v) => versionKey('fraud', v)).sort();
    expect(keys.map((k) => parseVersionKey(k)?.version)).toEqual([1, 9, 10, 100]);
    expect(parseVersionKey('registry/models/fraud/cards/00000001.md')).toBeUndefined();
  });

  it('describes version lists compactly', () => {
    expect(describeVersions([4])).toBe('version 4');
    expect(describeVersions([1, 2, 3, 5, 7, 8, 9])).toBe('versions 1..3, 5, 7..9');
    expect(describeVersions([1, 2])).toBe('versions 1, 2');
    expect(formatInt(284_807)).toBe('284,807');
    expect(formatInt(999)).toBe('999');
  });
});
