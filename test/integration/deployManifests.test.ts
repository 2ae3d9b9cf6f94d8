import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { envSchema, loadConfig } from '../../config/env';
import { ensurePythonVenv } from '../../infra/pythonTools';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
const DEPLOY = join(ROOT, 'infra', 'deploy');
const MANIFESTS = join(DEPLOY, 'kubernetes');
/** The validator and the Kubernetes API version the manifests are checked against. */
const KUBERNETES_VALIDATE = '1.37.0';
const KUBERNETES_API = '1.33.0';

/** The parts of a manifest this test reads. */
interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    template: {
      spec: {
        terminationGracePeriodSeconds?: number;
        containers: Array<{
          args?: string[];
          env?: Array<{ name: string }>;
          volumeMounts?: Array<{ name: string; mountPath: string }>;
        }>;
        volumes?: Array<{ name: string; secret?: { secretName: string; optional?: boolean } }>;
      };
    };
  };
}

/**
 * The example deployment (issue 26): every manifest validates against the Kubernetes API schema
 * (kubernetes-validate, strict: an unknown or misspelt field fails), names only variables Slipway
 * reads, and runs commands the CLI has. The container build file cannot be built here (no container
 * engine on these machines, see the README); its inputs are checked to exist.
 */
describe('deployment manifests and container build file', () => {
  let python: string;
  let scratch: string;
  const files = readdirSync(MANIFESTS)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .map((f) => join(MANIFESTS, f));
  const documents = files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((d) => ({
      file,
      doc: d.toJS() as Manifest,
    })),
  );

  const validate = async (paths: string[]) => {
    const { stdout } = await run(python, [join(DEPLOY, 'validate_manifests.py'), KUBERNETES_API, ...paths], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout) as { checked: string[]; errors: string[] };
  };

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'slipway-manifests-'));
    const venv = await ensurePythonVenv({
      dir: join(loadConfig().binCache, `py-kubernetes-validate-${KUBERNETES_VALIDATE}`),
      packages: [`kubernetes-validate==${KUBERNETES_VALIDATE}`],
      probe: 'import kubernetes_validate, yaml',
    });
    if ('missing' in venv) throw new Error(`kubernetes-validate could not be installed: ${venv.missing}`);
    python = venv.python;
  }, 600_000);
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('every manifest validates against the Kubernetes API schema, strictly', async () => {
    const result = await validate(files);
    expect(result.errors).toEqual([]);
    expect(result.checked).toHaveLength(documents.length);
    expect(documents.map((d) => d.doc.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Deployment',
      'Deployment',
      'Secret',
      'Secret',
      'Secret',
      'Service',
    ]);
  });

  it('the validator refuses a misspelt field and a wrong type (so the check above can fail)', async () => {
    const worker = readFileSync(join(MANIFESTS, 'worker-main.yaml'), 'utf8');
    await writeFile(join(scratch, 'typo.yaml'), worker.replace('containers:', 'contianers:'));
    await writeFile(join(scratch, 'type.yaml'), worker.replace('replicas: 2', 'replicas: two'));
    const result = await validate([join(scratch, 'typo.yaml'), join(scratch, 'type.yaml')]);
    expect(result.checked).toEqual([]);
    expect(result.errors).toHaveLength(2);
  });

  it('names only variables Slipway reads, and every queue and command exists', () => {
    const known = new Set(Object.keys(envSchema.shape));
    const named = documents.flatMap(({ doc }) => {
      if (doc.kind === 'ConfigMap') return Object.keys(doc.data ?? {});
      if (doc.kind === 'Secret' && doc.metadata.name === 'slipway-secrets')
        return Object.keys(doc.stringData ?? {});
      if (doc.kind === 'Deployment')
        return (doc.spec?.template.spec.containers ?? []).flatMap((c) => (c.env ?? []).map((e) => e.name));
      return [];
    });
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((name) => !known.has(name))).toEqual([]);
    // The ConfigMap's values parse as Slipway's configuration would read them in a pod.
    const config = documents.find((d) => d.doc.kind === 'ConfigMap')?.doc.data as Record<string, string>;
    expect(loadConfig(config).env.SLIPWAY_WORKER_MAX_ACTIVITIES).toBe(4);

    const args = documents
      .filter(({ doc }) => doc.kind === 'Deployment')
      .map(({ doc }) => doc.spec?.template.spec.containers[0]?.args);
    expect(args).toEqual(
      expect.arrayContaining([
        ['worker', '--queues', 'main'],
        ['worker', '--queues', 'training'],
        ['console', '--host', '0.0.0.0', '--port', '4600'],
      ]),
    );
    // Each worker's grace period outlasts the worker's own (SLIPWAY_WORKER_SHUTDOWN_GRACE).
    for (const { doc } of documents.filter(
      (d) => d.doc.kind === 'Deployment' && d.doc.metadata.name.includes('worker'),
    ))
      expect(doc.spec?.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
        Number(config.SLIPWAY_WORKER_SHUTDOWN_GRACE),
      );
  });

  it('the private S3 CA example (SLIPWAY_S3_CA), uncommented, validates and points at the file every pod mounts', async () => {
    // config.yaml and secrets.yaml carry it commented out (AWS S3 needs the system CAs): uncommented
    // as a person would, both must validate, and the variable must name the secret's file where
    // every deployment mounts it.
    const configText = readFileSync(join(MANIFESTS, 'config.yaml'), 'utf8');
    expect(configText).toMatch(/^ {2}# SLIPWAY_S3_CA: /m);
    const config = configText.replace(/^ {2}# SLIPWAY_S3_CA: /m, '  SLIPWAY_S3_CA: ');
    const secretsText = readFileSync(join(MANIFESTS, 'secrets.yaml'), 'utf8');
    const example = secretsText.slice(secretsText.indexOf('# ---\n'));
    const secrets = `${secretsText}${example
      .split('\n')
      .map((line) => line.replace(/^# ?/, ''))
      .join('\n')}`;
    await writeFile(join(scratch, 'config.yaml'), config);
    await writeFile(join(scratch, 'secrets.yaml'), secrets);
    const result = await validate([join(scratch, 'config.yaml'), join(scratch, 'secrets.yaml')]);
    expect(result.errors).toEqual([]);
    expect(result.checked).toHaveLength(5); // the ConfigMap and four Secrets

    const path = (parseAllDocuments(config)[0]?.toJS() as Manifest | undefined)?.data
      ?.SLIPWAY_S3_CA as string;
    const caSecret = parseAllDocuments(secrets)
      .map((d) => d.toJS() as Manifest)
      .find((d) => d.kind === 'Secret' && d.metadata.name === 'slipway-s3-ca');
    expect(Object.keys(caSecret?.stringData ?? {})).toEqual([path.slice(path.lastIndexOf('/') + 1)]);
    const deployments = documents.filter((d) => d.doc.kind === 'Deployment');
    expect(deployments).toHaveLength(3);
    for (const { doc } of deployments) {
      const pod = doc.spec?.template.spec;
      const volume = pod?.volumes?.find((v) => v.secret?.secretName === 'slipway-s3-ca');
      // Optional: a pod starts without the secret, as it must for AWS S3.
      expect(volume?.secret?.optional, doc.metadata.name).toBe(true);
      const mount = pod?.containers[0]?.volumeMounts?.find((m) => m.name === volume?.name);
      expect(`${mount?.mountPath}/${path.slice(path.lastIndexOf('/') + 1)}`, doc.metadata.name).toBe(path);
    }
  });

  it('the container build file copies and tests files that exist', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    const tests = [...dockerfile.matchAll(/test\/unit\/[\w.]+\.test\.ts/g)].map((m) => m[0]);
    expect(tests.length).toBeGreaterThanOrEqual(3);
    for (const path of [...tests, 'package-lock.json', 'native', 'bin/slipway', 'vitest.unit.config.mts'])
      expect(existsSync(join(ROOT, path)), path).toBe(true);
  });
});
