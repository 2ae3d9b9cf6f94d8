import type { AuditLogEntry } from '../domain/audit/auditLog';
import { type VerifyOptions, type VerifyResult, verifyAuditLog } from '../domain/audit/verify';
import type { Workspace } from './workspace';

/**
 * The audit log as this person may read it, oldest first: records about a model they may not see
 * are left out (as `models` leaves the model out), THEN the newest `last` of what remains are kept,
 * so `last` counts records the person sees. A model name the registry cannot answer for (damaged
 * or removed) is hidden rather than failing the whole log.
 */
export async function readAuditLog(
  ws: Workspace,
  options: { model?: string; last?: number } = {},
): Promise<AuditLogEntry[]> {
  if (options.model !== undefined) await ws.access.assertCanUse(options.model, ws.identity);
  const all = await ws.audit.entries({ model: options.model });
  const named = [...new Set(all.flatMap((e) => (e.record?.model === undefined ? [] : [e.record.model])))];
  const allowed = await Promise.all(
    named.map((n) =>
      ws.access.whyNotUse(n, ws.identity).then(
        (why) => why === undefined,
        () => false,
      ),
    ),
  );
  const visible = new Set(named.filter((_, i) => allowed[i]));
  const shown = all.filter((e) => e.record?.model === undefined || visible.has(e.record.model));
  return options.last === undefined ? shown : shown.slice(-options.last);
}

/** Recomputes the hash chain (and re-hashes the artifacts the records cite). */
export function verifyAudit(ws: Workspace, options: VerifyOptions): Promise<VerifyResult> {
  return verifyAuditLog(ws.store, options);
}
