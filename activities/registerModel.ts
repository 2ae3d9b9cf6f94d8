import { Context } from '@temporalio/activity';
import { codeVersion } from '../config/codeVersion';
import type { ModelVersionDraft } from '../domain/registry/metadata';
import { ModelRegistry } from '../domain/registry/registry';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

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
    draft: Omit<ModelVersionDraft, 'createdAt' | 'packageVersions' | 'codeVersion'>;
  }): Promise<RegisteredModel> {
    return withFailureMapping(async () => {
      const info = Context.current().info;
      const registry = new ModelRegistry(deps.store);
      const result = await registry.registerVersion(params.name, {
        idempotencyKey: `${info.workflowExecution?.workflowId}/${info.workflowExecution?.runId}`,
        build: {
          ...params.draft,
          createdAt: new Date().toISOString(),
          packageVersions: packageVersions(),
          codeVersion: codeVersion(),
        },
      });
      return {
        name: params.name,
        version: result.metadata.version,
        metadataKey: result.metadataKey,
        created: result.created,
      };
    });
  };
}
