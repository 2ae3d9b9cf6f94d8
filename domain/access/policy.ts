import { z } from 'zod';
import { webhookTargetSchema } from '../notify/targets';
import { aliasNameSchema } from '../registry/aliasName';
import { DEFAULT_NAMESPACE } from '../registry/modelName';

const people = z.array(z.string().trim().min(1).max(256));

/**
 * A public key as a policy keeps it: an OpenSSH line or a PEM block. Parsed (and refused when it is
 * not a usable key) where the policy is set, not here: workflows read this schema and have no crypto.
 */
const publicKeyText = z.string().trim().min(1).max(4096);

/**
 * Who does what in one namespace (a team or an app): the analogue of the operations platform's
 * model-admin capability. Admins change visibility and this policy; importers (default: the
 * admins) import files trained elsewhere; approvers, when listed, are the only people a run's
 * review may name. Members, admins and importers see the namespace's `namespace`-visible models.
 */
export const namespacePolicySchema = z.object({
  namespace: z.string().min(1),
  admins: people.min(1, 'a namespace needs at least one admin, who can change its policy later'),
  members: people.default([]),
  importers: people.optional(),
  approvers: people.optional(),
  /**
   * Each approver's Ed25519 public keys. When any are registered, a decision must be signed by one
   * of the deciding approver's keys, unless `allowUnsigned` (then an unsigned one is recorded as such).
   */
  approverKeys: z.record(z.string().trim().min(1), z.array(publicKeyText)).optional(),
  allowUnsigned: z.boolean().optional(),
  /**
   * Protected aliases and the people who may move them by hand (rollback); the pipeline moves one
   * only after an approved review. An empty list: only the pipeline, after an approved review.
   */
  protectedAliases: z.record(aliasNameSchema, people).optional(),
  /** Public keys (ECDSA PEM or Ed25519) whose model signatures an import trusts (`import onnx --signature`). */
  trustedSigners: z.array(publicKeyText).optional(),
  /** Imports into this namespace must carry a signature by a trusted signer. */
  requireSignedImports: z.boolean().optional(),
  /** Where this namespace's notifications go (domain/notify): URLs and the names of the secrets' variables only. */
  webhooks: z.array(webhookTargetSchema).optional(),
  updatedBy: z.string().min(1),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type NamespacePolicy = z.infer<typeof namespacePolicySchema>;

/**
 * Who may see a model: private (its owner, and the namespace's admins), namespace (everyone the
 * namespace's policy names) or global (everyone), as the platform's Owner / App / All apps.
 */
export const visibilities = ['private', 'namespace', 'global'] as const;
export type Visibility = (typeof visibilities)[number];

export const sharingSchema = z.object({
  visibility: z.enum(visibilities),
  /** Who imported or first trained it. */
  owner: z.string().min(1),
  changedBy: z.string().min(1),
  changedAt: z.iso.datetime({ offset: true }),
});
export type Sharing = z.infer<typeof sharingSchema>;

/**
 * A model with no sharing document: the default namespace keeps the behaviour it always had
 * (everyone sees everything); a team's model is visible within the team until shared further.
 */
export function defaultVisibility(namespace: string): Visibility {
  return namespace === DEFAULT_NAMESPACE ? 'global' : 'namespace';
}

/** Everyone the policy names, in any role. */
export function namespacePeople(policy: NamespacePolicy): Set<string> {
  return new Set([
    ...policy.admins,
    ...policy.members,
    ...(policy.importers ?? []),
    ...(policy.approvers ?? []),
  ]);
}
