import { AccessError } from '../domain/access/errors';
import type { NamespacePolicy } from '../domain/access/policy';
import type { AuditLogEntry } from '../domain/audit/auditLog';
import { ENV_WEBHOOK_SECRET, redactUrl, targetLabel } from '../domain/notify/targets';
import { DEFAULT_NAMESPACE, modelNameProblem, parseModelName } from '../domain/registry/modelName';
import { signaturesRequired } from '../domain/review/decisionSignature';
import { storedKeyFingerprint } from '../domain/signing/keys';
import { readAuditLog } from './audit';
import { listModels } from './models';
import type { Workspace } from './workspace';

/**
 * A namespace as a person checks it before trusting what it does: who decides, whether decisions
 * must be signed and with which keys (fingerprints), protected aliases, which signers imports
 * trust, where its notifications go and which of them could not be delivered. Webhooks are shown
 * by where they send (a URL without its user info and query, or the variable that holds it), their
 * format and the name of the workers' variable that holds the secret: never a secret, which no
 * stored document holds anyway.
 */
export interface NamespaceOverview {
  namespace: string;
  /** The models of the namespace this person may see. */
  models: string[];
  /** Undefined: the namespace has no policy (open to everyone, unsigned decisions). */
  policy?: {
    admins: string[];
    members: string[];
    importers: string[];
    /** Undefined: any the run names. */
    approvers?: string[];
    decisions: { signaturesRequired: boolean; allowUnsigned: boolean; keys: ApproverKeys[] };
    protectedAliases: Array<{ alias: string; movers: string[] }>;
    imports: { signatureRequired: boolean; trustedSigners: string[] };
    updatedAt: string;
    updatedBy: string;
  };
  webhooks: WebhookView[];
  /**
   * The installation's webhook (SLIPWAY_WEBHOOK_URL), as far as this process's environment says:
   * the workers read their own, which a separate console may not share.
   */
  installationWebhook?: WebhookView;
  /** Notifications of this namespace no attempt delivered (the audit log's dead letters), newest first. */
  deadLetters: DeadLetter[];
}

export interface ApproverKeys {
  approver: string;
  fingerprints: string[];
}

export interface WebhookView {
  /** Where it sends: the URL without user info and query, or `$VAR` when a variable holds the URL. */
  target: string;
  format: string;
  /** The workers' variable holding the HMAC secret, or undefined when the requests are not signed. */
  secretEnv?: string;
  /** Undefined: every event. */
  events?: string[];
}

export interface DeadLetter {
  seq: number;
  at: string;
  eventType: string;
  eventId: string;
  model?: string;
  version?: number;
  target: string;
  gaveUp: string;
  error: string;
}

/** The namespaces this person sees models in (and the default one), with what each says about trust. */
export interface NamespaceSummary {
  namespace: string;
  models: number;
  hasPolicy: boolean;
  signaturesRequired: boolean;
  webhooks: number;
  deadLetters: number;
}

export async function listNamespaces(ws: Workspace): Promise<NamespaceSummary[]> {
  const models = await listModels(ws);
  const byNamespace = new Map<string, number>([[DEFAULT_NAMESPACE, 0]]);
  for (const m of models) {
    const ns = parseModelName(m.model).namespace;
    byNamespace.set(ns, (byNamespace.get(ns) ?? 0) + 1);
  }
  const letters = deadLettersByNamespace(await readAuditLog(ws));
  const names = [...byNamespace.keys()].sort((a, b) =>
    a === DEFAULT_NAMESPACE ? -1 : b === DEFAULT_NAMESPACE ? 1 : a.localeCompare(b),
  );
  return Promise.all(
    names.map(async (namespace) => {
      const policy = await ws.access.policy(namespace);
      return {
        namespace,
        models: byNamespace.get(namespace) ?? 0,
        hasPolicy: policy !== undefined,
        signaturesRequired: signaturesRequired(policy),
        webhooks: policy?.webhooks?.length ?? 0,
        deadLetters: letters.get(namespace)?.length ?? 0,
      };
    }),
  );
}

/** One namespace's overview (see NamespaceOverview); a name that cannot be a namespace is refused. */
export async function namespaceOverview(ws: Workspace, namespace: string): Promise<NamespaceOverview> {
  const problem = namespace === DEFAULT_NAMESPACE ? undefined : modelNameProblem(`${namespace}/x`);
  if (problem !== undefined) {
    throw new AccessError(
      'InvalidAccessSettings',
      `"${namespace}" is not a namespace: ${problem.replace('its namespace', 'it')}.`,
    );
  }
  const [policy, models, log] = await Promise.all([
    ws.access.policy(namespace),
    listModels(ws),
    readAuditLog(ws),
  ]);
  const envUrl = ws.config.env.SLIPWAY_WEBHOOK_URL;
  return {
    namespace,
    models: models.map((m) => m.model).filter((m) => parseModelName(m).namespace === namespace),
    ...(policy ? { policy: policyView(policy) } : {}),
    webhooks: (policy?.webhooks ?? []).map((w) => ({
      target: targetLabel(w),
      format: w.format,
      ...(w.secretEnv ? { secretEnv: w.secretEnv } : {}),
      ...(w.events ? { events: [...w.events] } : {}),
    })),
    ...(envUrl
      ? { installationWebhook: { target: redactUrl(envUrl), format: 'json', secretEnv: ENV_WEBHOOK_SECRET } }
      : {}),
    deadLetters: (deadLettersByNamespace(log).get(namespace) ?? []).reverse(),
  };
}

function policyView(policy: NamespacePolicy): NonNullable<NamespaceOverview['policy']> {
  return {
    admins: policy.admins,
    members: policy.members,
    importers: policy.importers ?? policy.admins,
    ...(policy.approvers ? { approvers: policy.approvers } : {}),
    decisions: {
      signaturesRequired: signaturesRequired(policy),
      allowUnsigned: policy.allowUnsigned === true,
      keys: Object.entries(policy.approverKeys ?? {})
        .filter(([, keys]) => keys.length > 0)
        .map(([approver, keys]) => ({ approver, fingerprints: keys.map(storedKeyFingerprint) })),
    },
    protectedAliases: Object.entries(policy.protectedAliases ?? {}).map(([alias, movers]) => ({
      alias,
      movers,
    })),
    imports: {
      signatureRequired: policy.requireSignedImports === true,
      trustedSigners: (policy.trustedSigners ?? []).map(storedKeyFingerprint),
    },
    updatedAt: policy.updatedAt,
    updatedBy: policy.updatedBy,
  };
}

/** The dead letters (notification-undelivered records) of the log, by the event's namespace, oldest first. */
function deadLettersByNamespace(log: AuditLogEntry[]): Map<string, DeadLetter[]> {
  const found = new Map<string, DeadLetter[]>();
  for (const { record } of log) {
    if (record?.type !== 'notification-undelivered') continue;
    const d = record.details;
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const namespace = text(d.namespace) || DEFAULT_NAMESPACE;
    const letter: DeadLetter = {
      seq: record.seq,
      at: record.at,
      eventType: text(d.eventType),
      eventId: text(d.eventId),
      ...(record.model ? { model: record.model } : {}),
      ...(record.version ? { version: record.version } : {}),
      target: text(d.target),
      gaveUp: text(d.gaveUp),
      error: record.reason ?? '',
    };
    found.set(namespace, [...(found.get(namespace) ?? []), letter]);
  }
  return found;
}
