import { AuditLog } from '../audit/auditLog';
import { namespacePolicyKey, sharingKey } from '../registry/layout';
import { DEFAULT_NAMESPACE, modelNameProblem, parseModelName } from '../registry/modelName';
import type { ModelRegistry } from '../registry/registry';
import { keyFingerprint, parsePublicKey } from '../signing/keys';
import { serializeDocument } from '../storage/jsonDocument';
import { AccessError } from './errors';
import {
  defaultVisibility,
  type NamespacePolicy,
  namespacePeople,
  namespacePolicySchema,
  type Sharing,
  sharingSchema,
  type Visibility,
} from './policy';
import { applyPolicyChange, type PolicyChange, type PolicySettings } from './policyChanges';

const JSON_TYPE = 'application/json';

export type { PolicySettings } from './policyChanges';

/** Every key of a policy must parse: approvers' keys are Ed25519 (they sign decisions). */
function checkKeys(settings: PolicySettings): void {
  const bad = (message: string) => new AccessError('InvalidAccessSettings', message);
  for (const [person, keys] of Object.entries(settings.approverKeys ?? {})) {
    for (const text of keys) {
      let key: ReturnType<typeof parsePublicKey>;
      try {
        key = parsePublicKey(text, `the key of ${person}`);
      } catch (error) {
        throw bad((error as Error).message);
      }
      if (key.asymmetricKeyType !== 'ed25519') {
        throw bad(
          `the key of ${person} (${keyFingerprint(key)}) is not Ed25519; approvers sign with Ed25519 keys.`,
        );
      }
    }
  }
  for (const text of settings.trustedSigners ?? []) {
    try {
      parsePublicKey(text, 'a trusted signer key');
    } catch (error) {
      throw bad((error as Error).message);
    }
  }
  if (settings.requireSignedImports && (settings.trustedSigners ?? []).length === 0) {
    throw bad(
      'requiring signed imports needs at least one trusted signer key (--trusted-signer <public key file>).',
    );
  }
}

export interface EffectiveSharing {
  visibility: Visibility;
  owner: string;
  /** False when no one has set it: the namespace's default applies. */
  explicit: boolean;
}

/**
 * Namespaces, visibility and who may do what, kept beside the registry's documents. Identity is
 * whoever the configuration says the caller is (SLIPWAY_USER); every change is audited.
 */
export class ModelAccess {
  private readonly audit: AuditLog;

  constructor(private readonly registry: ModelRegistry) {
    this.audit = new AuditLog(registry.store);
  }

  async policy(namespace: string): Promise<NamespacePolicy | undefined> {
    const bytes = await this.registry.store.getDocument(namespacePolicyKey(namespace));
    return bytes ? namespacePolicySchema.parse(JSON.parse(bytes.toString('utf8'))) : undefined;
  }

  /**
   * Creates or changes a namespace's policy: anyone may create one, only its admins change it. The
   * change is merged into the current policy (policyChanges.ts): what it does not name is kept. The
   * default namespace (models named without "<namespace>/") may have one too; until it does, it is
   * open to everyone.
   */
  async setPolicy(
    namespace: string,
    change: PolicyChange,
    actor: string,
    at: string,
    /** Makes a retried call append its audit record once. */
    idempotencyKey?: string,
  ): Promise<NamespacePolicy> {
    const problem = namespace === DEFAULT_NAMESPACE ? undefined : modelNameProblem(`${namespace}/x`);
    if (problem !== undefined) {
      throw new AccessError(
        'InvalidAccessSettings',
        `Invalid namespace "${namespace}": ${problem.replace('its namespace', 'it')}.`,
      );
    }
    const current = await this.policy(namespace);
    if (current && !current.admins.includes(actor)) {
      throw new AccessError(
        'AccessDenied',
        `${actor} may not change the policy of namespace ${namespace}: only its admins may ` +
          `(${current.admins.join(', ')}). You are ${actor} (SLIPWAY_USER).`,
      );
    }
    const settings = applyPolicyChange(namespace, current, change);
    checkKeys(settings);
    const policy = namespacePolicySchema.parse({ namespace, ...settings, updatedBy: actor, updatedAt: at });
    await this.registry.store.putDocument(namespacePolicyKey(namespace), serializeDocument(policy), {
      mediaType: JSON_TYPE,
    });
    await this.audit.append({
      type: 'namespace-change',
      actor,
      at,
      details: { namespace, previous: current ?? null, policy },
      idempotencyKey,
    });
    return policy;
  }

  async sharing(name: string): Promise<EffectiveSharing> {
    const bytes = await this.registry.store.getDocument(sharingKey(name));
    if (bytes) {
      const stored = sharingSchema.parse(JSON.parse(bytes.toString('utf8')));
      return { visibility: stored.visibility, owner: stored.owner, explicit: true };
    }
    const first = await this.registry.getVersion(name, (await this.registry.listVersions(name))[0] as number);
    return {
      visibility: defaultVisibility(parseModelName(name).namespace),
      owner: first.imported?.importedBy ?? first.createdBy,
      explicit: false,
    };
  }

  /** Why `user` may not use the model (see, score, export, trace), or undefined when they may. */
  async whyNotUse(name: string, user: string): Promise<string | undefined> {
    const { namespace } = parseModelName(name);
    const sharing = await this.sharing(name);
    if (sharing.visibility === 'global') return undefined;
    const policy = await this.policy(namespace);
    const admins = policy?.admins ?? [];
    if (user === sharing.owner || admins.includes(user)) return undefined;
    if (sharing.visibility === 'namespace') {
      if (!policy || namespacePeople(policy).has(user)) return undefined;
      return (
        `${name} is shared within namespace ${namespace} only, and ${user} is not in it ` +
        `(admins: ${admins.join(', ')}; members: ${policy.members.join(', ') || 'none'}). ` +
        `Ask an admin of ${namespace} to add you (slipway namespace set) or to share it globally ` +
        `(slipway share ${name} --visibility global).`
      );
    }
    return (
      `${name} is private to its owner ${sharing.owner}` +
      (admins.length ? ` (and the admins of ${namespace}: ${admins.join(', ')})` : '') +
      `. Ask them to share it (slipway share ${name} --visibility namespace|global).`
    );
  }

  async assertCanUse(name: string, user: string): Promise<void> {
    const why = await this.whyNotUse(name, user);
    if (why !== undefined) {
      throw new AccessError(
        'AccessDenied',
        `${user} may not use ${name}: ${why} You are ${user} (SLIPWAY_USER).`,
      );
    }
  }

  /** Models `user` may use, of those given. */
  async visibleTo(names: string[], user: string): Promise<string[]> {
    const allowed = await Promise.all(names.map(async (n) => (await this.whyNotUse(n, user)) === undefined));
    return names.filter((_, i) => allowed[i]);
  }

  /** Admins of the namespace change visibility; in the default namespace, the owner does. */
  async setVisibility(
    name: string,
    visibility: Visibility,
    actor: string,
    at: string,
    /** Makes a retried call append its audit record once. */
    idempotencyKey?: string,
  ): Promise<Sharing> {
    const { namespace } = parseModelName(name);
    const current = await this.sharing(name);
    const policy = await this.policy(namespace);
    const deciders = policy ? policy.admins : [current.owner];
    if (!deciders.includes(actor)) {
      throw new AccessError(
        'AccessDenied',
        `${actor} may not change who sees ${name}: ` +
          (policy
            ? `only the admins of ${namespace} may (${policy.admins.join(', ')})`
            : `only its owner ${current.owner} may`) +
          `. You are ${actor} (SLIPWAY_USER).`,
      );
    }
    const sharing = sharingSchema.parse({
      visibility,
      owner: current.owner,
      changedBy: actor,
      changedAt: at,
    });
    await this.registry.store.putDocument(sharingKey(name), serializeDocument(sharing), {
      mediaType: JSON_TYPE,
    });
    await this.audit.append({
      type: 'visibility-change',
      model: name,
      actor,
      at,
      details: { from: current.visibility, to: visibility, owner: current.owner },
      idempotencyKey,
    });
    return sharing;
  }

  /**
   * Moving a team's aliases by hand (rollback) is for the namespace's admins, when it has a policy;
   * a protected alias only for the people its protection names (admins or not).
   */
  async assertCanMoveAliases(name: string, user: string, alias?: string): Promise<void> {
    await this.assertCanUse(name, user);
    const { namespace } = parseModelName(name);
    const policy = await this.policy(namespace);
    const movers = alias === undefined ? undefined : policy?.protectedAliases?.[alias];
    if (movers !== undefined) {
      if (movers.includes(user)) return;
      throw new AccessError(
        'AccessDenied',
        `${user} may not move ${alias} of ${name} by hand: ${alias} is protected in namespace ${namespace}, ` +
          (movers.length
            ? `and only ${movers.join(', ')} may move it (or the pipeline after an approved review)`
            : 'and only the pipeline moves it, after an approved review') +
          `. You are ${user} (SLIPWAY_USER).`,
      );
    }
    if (policy && !policy.admins.includes(user)) {
      throw new AccessError(
        'AccessDenied',
        `${user} may not move the aliases of ${name} by hand: only the admins of ${namespace} may ` +
          `(${policy.admins.join(', ')}). You are ${user} (SLIPWAY_USER).`,
      );
    }
  }

  /** The people who may move `alias` of `name` by hand when it is protected; undefined when it is not. */
  async aliasMovers(name: string, alias: string): Promise<string[] | undefined> {
    return (await this.policy(parseModelName(name).namespace))?.protectedAliases?.[alias];
  }

  /**
   * The pipeline's own move of a protected alias: only after an approved review of that version
   * (`approvedReview`). A move of an unprotected alias is not checked here.
   */
  async assertPipelineMayMove(name: string, alias: string, approvedReview: boolean): Promise<void> {
    const movers = await this.aliasMovers(name, alias);
    if (movers === undefined || approvedReview) return;
    throw new AccessError(
      'AccessDenied',
      `${alias} of ${name} is protected in namespace ${parseModelName(name).namespace}: the pipeline moves it only ` +
        "after an approved review. Start the run with --approvers (the namespace's approvers review it).",
    );
  }

  /** Importing into a namespace with a policy takes an importer (default: its admins). */
  async assertCanImport(name: string, user: string): Promise<void> {
    const { namespace } = parseModelName(name);
    const policy = await this.policy(namespace);
    if (!policy) return;
    const importers = policy.importers ?? policy.admins;
    if (!importers.includes(user)) {
      throw new AccessError(
        'AccessDenied',
        `${user} may not import models into namespace ${namespace}: its importers are ${importers.join(', ')}. ` +
          `Ask an admin of ${namespace} to add you (slipway namespace set ${namespace} --importers ...). ` +
          `You are ${user} (SLIPWAY_USER).`,
      );
    }
  }

  /**
   * The review allow-list for a run of `name`: the namespace's approvers when its policy lists
   * them (a run may name fewer, never others); otherwise what the run asked for.
   */
  async approversFor(name: string, requested: string[]): Promise<string[]> {
    const { namespace } = parseModelName(name);
    const allowed = (await this.policy(namespace))?.approvers;
    if (!allowed) return requested;
    if (requested.length === 0) return allowed;
    const strangers = requested.filter((r) => !allowed.includes(r));
    if (strangers.length > 0) {
      throw new AccessError(
        'AccessDenied',
        `${strangers.join(', ')} may not approve models in namespace ${namespace}: its approvers are ` +
          `${allowed.join(', ')}. Name only those, or ask an admin of ${namespace} to add them.`,
      );
    }
    return requested;
  }
}
