/**
 * Every URL the console links to, built in one place. Model names may hold one "/"
 * (`<namespace>/<model>`), so they are always percent-encoded into a single path segment.
 */
export const links = {
  home: () => '/',
  model: (name: string) => `/models/${encodeURIComponent(name)}`,
  version: (name: string, version: number) => `/models/${encodeURIComponent(name)}/versions/${version}`,
  report: (name: string, version: number) => `/models/${encodeURIComponent(name)}/versions/${version}/report`,
  /** A batch scored with `apply --monitor`, and its stored drift report. */
  batch: (name: string, version: number, id: string) =>
    `/models/${encodeURIComponent(name)}/versions/${version}/monitoring/${encodeURIComponent(id)}`,
  batchReport: (name: string, version: number, id: string) =>
    `/models/${encodeURIComponent(name)}/versions/${version}/monitoring/${encodeURIComponent(id)}/report`,
  pending: () => '/pending',
  runs: (model?: string) => (model === undefined ? '/runs' : `/runs?model=${encodeURIComponent(model)}`),
  /** Hyperparameter searches (`slipway tune`), and one search with its trials. */
  searches: () => '/searches',
  search: (workflowId: string) => `/searches/${encodeURIComponent(workflowId)}`,
  /** The compare page of two or more versions, each `<model>@<version>`. */
  compare: (refs: string[]) => `/compare?${refs.map((r) => `v=${encodeURIComponent(r)}`).join('&')}`,
  /** The namespaces, and one namespace's policy, keys, webhooks and undelivered notifications. */
  namespaces: () => '/namespaces',
  namespace: (namespace: string) => `/namespaces/${encodeURIComponent(namespace)}`,
  audit: (model?: string) => (model === undefined ? '/audit' : `/audit?model=${encodeURIComponent(model)}`),
  decide: (workflowId: string, action: 'approve' | 'reject') =>
    `/api/runs/${encodeURIComponent(workflowId)}/${action}`,
};

/**
 * Links into the Temporal Web UI, or undefined when no UI address is known (a configured cluster
 * whose UI the console was not told about): the page then shows the workflow ID as plain text.
 */
export function temporalUiLinks(base: string | undefined, namespace: string) {
  const root = base?.replace(/\/+$/, '');
  return {
    base: root,
    run(workflowId: string, runId?: string): string | undefined {
      if (root === undefined) return undefined;
      const wf = `${root}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
      return runId === undefined ? wf : `${wf}/${encodeURIComponent(runId)}/history`;
    },
  };
}
export type TemporalUiLinks = ReturnType<typeof temporalUiLinks>;
