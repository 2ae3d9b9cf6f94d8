import { z } from 'zod';
import { DEFAULT_NAMESPACE } from '../registry/modelName';

const people = z.array(z.string().trim().min(1).max(256));

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
