import { describe, expect, it } from 'vitest';
import type { LineageGraph } from '../../domain/lineage/graph';
import {
  lineageFormats,
  renderDot,
  renderLineage,
  renderMermaid,
  renderText,
} from '../../domain/lineage/render';
import type { ArtifactKind } from '../../domain/storage/artifactRef';

const SRC = '5'.repeat(64);
const SNAP = 'd'.repeat(64);
const ONNX = 'e'.repeat(64);
const execution = (step: string, attempt: number, outcome: 'succeeded' | 'cached', minute: number) => ({
  id: `execution:r.${step}.${attempt}`,
  type: 'execution' as const,
  executionId: `r.${step}.${attempt}`,
  step,
  workflowId: 'train-fraud',
  runId: 'run-1',
  attempt,
  outcome,
  codeVersion: 'slipway 0.1.0',
  paramsHash: '0'.repeat(64),
  startedAt: `2026-02-14T10:0${minute}:00.000Z`,
  endedAt: `2026-02-14T10:0${minute}:30.000Z`,
});
const artifact = (sha256: string, bytes: number, kind: ArtifactKind, uri: string) => ({
  id: `artifact:${sha256}`,
  type: 'artifact' as const,
  sha256,
  bytes,
  kind,
  uri,
});

/** source -> extract -> snapshot -> export -> onnx -> register -> fraud@3; register also reads the snapshot. */
const upstream: LineageGraph = {
  direction: 'upstream',
  roots: ['model:fraud@3'],
  nodes: [
    {
      id: 'model:fraud@3',
      type: 'model',
      name: 'fraud',
      version: 3,
      registeredAt: '2026-02-14T10:05:30.000Z',
    },
    execution('register', 1, 'succeeded', 5),
    artifact(ONNX, 2048, 'onnx', `s3://models/onnx/sha256/${ONNX}.onnx`),
    execution('export', 2, 'succeeded', 3),
    artifact(SNAP, 512, 'dataset', `s3://models/dataset/sha256/${SNAP}.arrow`),
    execution('extract', 1, 'cached', 1),
    artifact(SRC, 99, 'source', 'synthetic:fraud?rows=10&seed=7'),
  ],
  edges: [
    { from: 'execution:r.register.1', to: 'model:fraud@3', role: 'registered' },
    { from: `artifact:${ONNX}`, to: 'execution:r.register.1', role: 'onnx' },
    { from: `artifact:${SNAP}`, to: 'execution:r.register.1', role: 'snapshot' },
    { from: 'execution:r.export.2', to: `artifact:${ONNX}`, role: 'onnx' },
    { from: `artifact:${SNAP}`, to: 'execution:r.export.2', role: 'snapshot' },
    { from: 'execution:r.extract.1', to: `artifact:${SNAP}`, role: 'snapshot' },
    { from: `artifact:${SRC}`, to: 'execution:r.extract.1', role: 'source' },
  ],
};

const downstream: LineageGraph = { ...upstream, direction: 'downstream', roots: [`artifact:${SRC}`] };

const REGISTER =
  'register: attempt 1, succeeded, run train-fraud/run-1, code slipway 0.1.0, 2026-02-14T10:05:00.000Z to 2026-02-14T10:05:30.000Z';
const EXPORT =
  'export: attempt 2, succeeded, run train-fraud/run-1, code slipway 0.1.0, 2026-02-14T10:03:00.000Z to 2026-02-14T10:03:30.000Z';
const EXTRACT =
  'extract: attempt 1, cached, run train-fraud/run-1, code slipway 0.1.0, 2026-02-14T10:01:00.000Z to 2026-02-14T10:01:30.000Z';
const ONNX_LINE = `onnx sha256:${ONNX} (2048 bytes) s3://models/onnx/sha256/${ONNX}.onnx`;
const SNAP_LINE = `dataset sha256:${SNAP} (512 bytes) s3://models/dataset/sha256/${SNAP}.arrow`;
const SRC_LINE = `source sha256:${SRC} (99 bytes) synthetic:fraud?rows=10&seed=7`;

describe('text', () => {
  it('prints an upstream tree from the model version to the source, a shared node once in full', () => {
    expect(renderText(upstream)).toBe(
      [
        'fraud@3 (model version, registered 2026-02-14T10:05:30.000Z)',
        `└── ${REGISTER}`,
        `    ├── onnx: ${ONNX_LINE}`,
        `    │   └── ${EXPORT}`,
        `    │       └── snapshot: ${SNAP_LINE}`,
        `    │           └── ${EXTRACT}`,
        `    │               └── source: ${SRC_LINE}`,
        `    └── snapshot: dataset sha256:${SNAP} (see above)`,
        '',
      ].join('\n'),
    );
  });

  it('prints a downstream tree from the source, led by the model versions found', () => {
    expect(renderText(downstream)).toBe(
      [
        'Model versions built from it: fraud@3',
        SRC_LINE,
        `└── ${EXTRACT}`,
        `    └── snapshot: ${SNAP_LINE}`,
        `        ├── ${REGISTER}`,
        '        │   └── fraud@3 (model version, registered 2026-02-14T10:05:30.000Z)',
        `        └── ${EXPORT}`,
        `            └── onnx: ${ONNX_LINE}`,
        '                └── register: attempt 1, run train-fraud/run-1 (see above)',
        '',
      ].join('\n'),
    );
  });

  it('summarises a downstream answer in a line per model version by default', () => {
    expect(renderLineage(downstream, 'text')).toBe(
      [
        `From ${SRC_LINE}`,
        'Model versions built from it: 1',
        '  fraud@3  registered 2026-02-14T10:05:30.000Z  by run train-fraud',
        '(--format tree shows every step and artifact in between; json, dot or mermaid the graph)',
        '',
      ].join('\n'),
    );
    expect(renderLineage(downstream, 'tree')).toBe(renderText(downstream));
  });

  it('says so when a downstream question found no model version', () => {
    const lonely: LineageGraph = {
      direction: 'downstream',
      roots: [`artifact:${SRC}`],
      nodes: [upstream.nodes[6]],
      edges: [],
    };
    expect(renderText(lonely)).toBe(`Model versions built from it: none\n${SRC_LINE}\n`);
  });
});

describe('diagrams', () => {
  it('renders Graphviz dot with one node per artifact and execution and role-labelled edges', () => {
    expect(renderDot(upstream)).toBe(
      [
        'digraph lineage {',
        '  rankdir=LR;',
        '  node [fontname="Helvetica", fontsize=10];',
        '  n0 [shape=doubleoctagon, label="fraud@3\\nregistered 2026-02-14T10:05:30.000Z"];',
        '  n1 [shape=box, style=rounded, label="register (attempt 1, succeeded)\\nrun train-fraud/run-1\\ncode slipway 0.1.0"];',
        `  n2 [shape=note, label="onnx (2048 bytes)\\nsha256:${ONNX}\\ns3://models/onnx/sha256/${ONNX}.onnx"];`,
        '  n3 [shape=box, style=rounded, label="export (attempt 2, succeeded)\\nrun train-fraud/run-1\\ncode slipway 0.1.0"];',
        `  n4 [shape=note, label="dataset (512 bytes)\\nsha256:${SNAP}\\ns3://models/dataset/sha256/${SNAP}.arrow"];`,
        '  n5 [shape=box, style=rounded, label="extract (attempt 1, cached)\\nrun train-fraud/run-1\\ncode slipway 0.1.0"];',
        `  n6 [shape=note, label="source (99 bytes)\\nsha256:${SRC}\\nsynthetic:fraud?rows=10&seed=7"];`,
        '  n1 -> n0 [label="registered"];',
        '  n2 -> n1 [label="onnx"];',
        '  n4 -> n1 [label="snapshot"];',
        '  n3 -> n2 [label="onnx"];',
        '  n4 -> n3 [label="snapshot"];',
        '  n5 -> n4 [label="snapshot"];',
        '  n6 -> n5 [label="source"];',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('renders a Mermaid flowchart with entity-escaped labels', () => {
    expect(renderMermaid(upstream)).toBe(
      [
        'flowchart LR',
        '  n0{{"fraud@3<br/>registered 2026-02-14T10:05:30.000Z"}}',
        '  n1["register (attempt 1, succeeded)<br/>run train-fraud/run-1<br/>code slipway 0.1.0"]',
        `  n2[("onnx (2048 bytes)<br/>sha256:${ONNX}<br/>s3://models/onnx/sha256/${ONNX}.onnx")]`,
        '  n3["export (attempt 2, succeeded)<br/>run train-fraud/run-1<br/>code slipway 0.1.0"]',
        `  n4[("dataset (512 bytes)<br/>sha256:${SNAP}<br/>s3://models/dataset/sha256/${SNAP}.arrow")]`,
        '  n5["extract (attempt 1, cached)<br/>run train-fraud/run-1<br/>code slipway 0.1.0"]',
        `  n6[("source (99 bytes)<br/>sha256:${SRC}<br/>synthetic:fraud?rows=10#38;seed=7")]`,
        '  n1 -->|registered| n0',
        '  n2 -->|onnx| n1',
        '  n4 -->|snapshot| n1',
        '  n3 -->|onnx| n2',
        '  n4 -->|snapshot| n3',
        '  n5 -->|snapshot| n4',
        '  n6 -->|source| n5',
        '',
      ].join('\n'),
    );
  });

  it('escapes what would end a label: quotes and backslashes in dot, quotes, pipes and brackets in Mermaid', () => {
    const odd: LineageGraph = {
      direction: 'upstream',
      roots: ['artifact:x'],
      nodes: [
        {
          id: 'artifact:x',
          type: 'artifact',
          sha256: SRC,
          bytes: 1,
          kind: 'source',
          uri: 'file:///data/"q"\\<a|b>.csv',
        },
      ],
      edges: [],
    };
    expect(renderDot(odd)).toContain('\\nfile:///data/\\"q\\"\\\\<a|b>.csv"];');
    expect(renderMermaid(odd)).toContain('<br/>file:///data/#34;q#34;\\#60;a#124;b#62;.csv")]');
  });
});

describe('json', () => {
  it('is the graph itself, and every format is offered', () => {
    expect(JSON.parse(renderLineage(upstream, 'json'))).toEqual(upstream);
    expect(lineageFormats).toEqual(['text', 'tree', 'json', 'dot', 'mermaid']);
    for (const format of lineageFormats) expect(renderLineage(upstream, format).endsWith('\n')).toBe(true);
  });
});
