import { z } from 'zod';
import { type WebhookTarget, webhookTargetSchema } from '../notify/targets';
import { AccessError } from './errors';
import { type NamespacePolicy, namespacePolicySchema } from './policy';

/** What `slipway namespace set` can set: the people, their keys, protected aliases, signers, webhooks. */
export const policySettingsSchema = namespacePolicySchema.pick({
  admins: true,
  members: true,
  importers: true,
  approvers: true,
  approverKeys: true,
  allowUnsigned: true,
  protectedAliases: true,
  trustedSigners: true,
  requireSignedImports: true,
  webhooks: true,
});
export type PolicySettings = z.infer<typeof policySettingsSchema>;

/** The settings `--clear` can remove (admins cannot: a policy always has one). */
export const clearablePolicyFields = [
  'members',
  'importers',
  'approvers',
  'approverKeys',
  'allowUnsigned',
  'protectedAliases',
  'trustedSigners',
  'requireSignedImports',
  'webhooks',
] as const;
export type ClearablePolicyField = (typeof clearablePolicyFields)[number];

/**
 * A change to a policy: the fields to clear, then the fields to set. Lists (admins, members,
 * importers, approvers, trusted signers) are replaced when given; approvers' keys merge by person,
 * protected aliases by alias and webhooks by URL (the given entries replace theirs, the others
 * stay); a field not given is kept. Clearing first lets one change replace a whole map
 * (`--clear approver-keys --approver-key alice=...`).
 */
export const policyChangeSchema = z.object({
  set: policySettingsSchema.partial(),
  clear: z.array(z.enum(clearablePolicyFields)).default([]),
});
export type PolicyChange = z.input<typeof policyChangeSchema>;

const webhookKey = (w: WebhookTarget) => w.url ?? `$${w.urlEnv}`;

/** The settings after `change` is applied to `current` (none: a new policy, which must name its admins). */
export function applyPolicyChange(
  namespace: string,
  current: NamespacePolicy | undefined,
  change: PolicyChange,
): PolicySettings {
  const { set, clear } = policyChangeSchema.parse(change);
  const base: Partial<PolicySettings> = current ? policySettingsSchema.parse(current) : {};
  for (const field of clear) delete base[field];
  const merged: Partial<PolicySettings> = { ...base };
  for (const [field, value] of Object.entries(set) as Array<[keyof PolicySettings, unknown]>) {
    if (value === undefined) continue;
    if (field === 'approverKeys' || field === 'protectedAliases') {
      merged[field] = { ...(base[field] ?? {}), ...(value as Record<string, string[]>) };
    } else if (field === 'webhooks') {
      const given = (value as unknown[]).map((w) => webhookTargetSchema.parse(w));
      const replaced = new Set(given.map(webhookKey));
      merged.webhooks = [...(base.webhooks ?? []).filter((w) => !replaced.has(webhookKey(w))), ...given];
    } else {
      (merged as Record<string, unknown>)[field] = value;
    }
  }
  if (!merged.admins?.length) {
    throw new AccessError(
      'InvalidAccessSettings',
      `namespace ${namespace} has no policy yet: a new one needs its admins (--admins <list>), who can change it later.`,
    );
  }
  // Empty maps and lists mean "none": kept out of the stored policy, as if cleared.
  for (const field of ['approverKeys', 'protectedAliases'] as const) {
    if (merged[field] && Object.keys(merged[field]).length === 0) delete merged[field];
  }
  if (merged.webhooks?.length === 0) delete merged.webhooks;
  return policySettingsSchema.parse({ members: [], ...merged });
}
