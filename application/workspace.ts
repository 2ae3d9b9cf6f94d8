import { loadConfig, type SlipwayConfig } from '../config/env';
import { ModelAccess } from '../domain/access/modelAccess';
import { AuditLog } from '../domain/audit/auditLog';
import { ModelAliases } from '../domain/registry/aliases';
import { ModelRegistry } from '../domain/registry/registry';
import type { ArtifactStore } from '../domain/storage/artifactStore';
import { openArtifactStore } from '../domain/storage/openStore';

/**
 * One Slipway's stores, opened once for the person the configuration names (SLIPWAY_USER): the
 * registry, its aliases, the access rules and the audit log. The CLI and the console get these
 * from here and from nowhere else; writes go through workflows and activities.
 */
export interface Workspace {
  config: SlipwayConfig;
  /** Who is asking: every read is filtered for, and every check made against, this person. */
  identity: string;
  store: ArtifactStore;
  registry: ModelRegistry;
  aliases: ModelAliases;
  access: ModelAccess;
  audit: AuditLog;
}

export function openWorkspace(config: SlipwayConfig = loadConfig()): Workspace {
  const store = openArtifactStore(config);
  const registry = new ModelRegistry(store);
  return {
    config,
    identity: config.identity,
    store,
    registry,
    aliases: new ModelAliases(registry),
    access: new ModelAccess(registry),
    audit: new AuditLog(store),
  };
}
