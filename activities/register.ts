import { Context } from '@temporalio/activity';
import { codeVersion } from '../config/codeVersion';
import { AuditLog } from '../domain/audit/auditLog';
import { importanceSchema, summariseImportance } from '../domain/explain/permutationImportance';
import type { ModelArtifacts, ModelVersionDraft } from '../domain/registry/metadata';
import { ModelRegistry } from '../domain/registry/registry';
import { signVersion } from '../domain/registry/versionSignature';
import { installationSigningKey } from '../domain/signing/installationKey';
import { pemHint } from '../domain/signing/keys';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';
import { recordStepLineage } from './lineageRecorder';

export interface RegisteredModel {
  name: string;
  version: number;
  metadataKey: string;
  created: boolean;
}

/** The versions Slipway depends on at run time, recorded with each registered model. */
function packageVersions(): Record<string, string> {
  const names = [
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    'onnxruntime-node',
    '@temporalio/worker',
    'apache-arrow',
  ];
  const out: Record<string, string> = { node: process.versions.node };
  for (const name of names) {
    try {
      out[name] = require(`${name}/package.json`).version;
    } catch {
      // not resolvable through its package.json export map: leave it out rather than guess
    }
  }
  return out;
}

/**
 * Pusher, first half: registers the exported model as the next version of its name, with its
 * metadata and model card. Idempotent per workflow run: a retry returns the same version.
 */
export function registerModelActivity(deps: ActivityDeps) {
  return async function registerModel(params: {
    name: string;
    draft: Omit<ModelVersionDraft, 'createdAt' | 'packageVersions' | 'codeVersion' | 'importance'>;
  }): Promise<RegisteredModel> {
    // Heartbeats, so a worker that dies mid-registration is noticed within the heartbeat timeout.
    return heartbeating(async () => {
      const info = Context.current().info;
      const startedAt = new Date().toISOString();
      const registry = new ModelRegistry(deps.store);
      const runKey = `${info.workflowExecution?.workflowId}/${info.workflowExecution?.runId}`;
      // The importance artifact, summed up into the metadata for the card and comparisons.
      const importance = params.draft.artifacts.importance
        ? summariseImportance(
            importanceSchema.parse(
              JSON.parse((await deps.store.getBytes(params.draft.artifacts.importance)).toString('utf8')),
            ),
          )
        : undefined;
      const result = await registry.registerVersion(params.name, {
        idempotencyKey: runKey,
        build: {
          ...params.draft,
          ...(importance ? { importance } : {}),
          createdAt: new Date().toISOString(),
          packageVersions: packageVersions(),
          codeVersion: codeVersion(),
        },
      });
      const { metadata } = result;
      // Signed with the installation's key (read here, from outside the store; never logged or returned).
      const signingKey = await installationSigningKey(deps.config.modelSigningKeyPath);
      const signature = await signVersion(deps.store, metadata, signingKey);
      const artifacts = definedEntries(params.draft.artifacts);
      await recordStepLineage(deps, {
        step: 'register',
        params: { name: params.name },
        inputs: { ...artifacts },
        outputs: { modelCard: metadata.registration.modelCard },
        startedAt,
        outcome: 'succeeded',
        registered: { name: params.name, version: metadata.version },
      });
      // Audit: the registration, then the gate's verdict on it (the gate ran before a version existed).
      const audit = new AuditLog(deps.store);
      const at = new Date().toISOString();
      await audit.append({
        type: 'registration',
        model: params.name,
        version: metadata.version,
        actor: params.draft.createdBy,
        at,
        details: {
          workflowId: params.draft.workflowId,
          runId: params.draft.runId,
          sourceUri: params.draft.sourceUri,
          // `audit verify` checks the stored bundle still has these bytes; `slipway verify` checks the files.
          signatureDocument: signature,
          signedBy: pemHint(signingKey),
        },
        artifacts: [
          ...[artifacts.dataset, artifacts.onnx, artifacts.model, artifacts.evaluation].filter(isDefined),
          metadata.registration.modelCard,
        ],
        idempotencyKey: `${runKey}/register`,
      });
      if (params.draft.imported) {
        const imported = params.draft.imported;
        await audit.append({
          type: 'import',
          model: params.name,
          version: metadata.version,
          actor: imported.importedBy,
          at: imported.importedAt,
          details: {
            originUri: imported.originUri,
            sha256: imported.sha256,
            outputName: imported.outputName,
            signedBy: imported.signature?.signer ?? null,
          },
          artifacts: [artifacts.onnx].filter(isDefined),
          idempotencyKey: `${runKey}/import`,
        });
      }
      if (params.draft.gate) {
        await audit.append({
          type: 'gate-decision',
          model: params.name,
          version: metadata.version,
          actor: 'slipway (metric gate)',
          reason: params.draft.gate.blessed ? 'blessed' : 'blocked',
          at,
          details: params.draft.gate,
          artifacts: [artifacts.evaluation].filter(isDefined),
          idempotencyKey: `${runKey}/gate`,
        });
      }
      return {
        name: params.name,
        version: result.metadata.version,
        metadataKey: result.metadataKey,
        created: result.created,
      };
    });
  };
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/** The artifacts a version has (an imported one has fewer), as lineage inputs by role. */
function definedEntries(artifacts: ModelArtifacts): Partial<Record<keyof ModelArtifacts, ArtifactRef>> {
  return Object.fromEntries(Object.entries(artifacts).filter(([, ref]) => ref !== undefined));
}
