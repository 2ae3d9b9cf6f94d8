import { Context } from '@temporalio/activity';
import { parseDatasetSummary } from '../domain/data/summary';
import { importanceSchema } from '../domain/explain/permutationImportance';
import type { GateDecision } from '../domain/gate/metricGate';
import type { Evaluation } from '../domain/ml/metrics';
import type { EpochResult } from '../domain/ml/train';
import { renderEvaluationReport } from '../domain/report/evaluationReport';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';
import { recordStepLineage } from './lineageRecorder';

export interface RenderReportParams {
  model: string;
  backend: string;
  evaluation: ArtifactRef;
  history: EpochResult[];
  balance: { trainRows: number; trainPositives: number; testRows: number; testPositives: number };
  gate: GateDecision;
  champion?: { version: number; evaluation: ArtifactRef };
  /** The training data's summary (statistics and schema); absent in runs recorded before it was passed. */
  datasetSummary?: ArtifactRef;
  /** Permutation importance from the evaluate step (absent in runs recorded before issue 29). */
  importance?: ArtifactRef;
}

/** The evaluation report: one self-contained HTML page stored beside the metrics. */
export function renderReportActivity(deps: ActivityDeps) {
  return async function renderReport(params: RenderReportParams): Promise<{ report: ArtifactRef }> {
    return withFailureMapping(async () => {
      const context = Context.current();
      const startedAt = new Date().toISOString();
      const read = async (ref: ArtifactRef) =>
        JSON.parse((await deps.store.getBytes(ref)).toString('utf8')) as Evaluation;
      const html = renderEvaluationReport({
        model: params.model,
        workflowId: context.info.workflowExecution?.workflowId ?? 'standalone',
        createdAt: startedAt,
        backend: params.backend,
        evaluation: await read(params.evaluation),
        history: params.history,
        balance: params.balance,
        gate: params.gate,
        ...(params.champion
          ? {
              champion: {
                version: params.champion.version,
                evaluation: await read(params.champion.evaluation),
              },
            }
          : {}),
        ...(params.datasetSummary
          ? { dataset: parseDatasetSummary(await deps.store.getBytes(params.datasetSummary)) }
          : {}),
        ...(params.importance
          ? {
              importance: importanceSchema.parse(
                JSON.parse((await deps.store.getBytes(params.importance)).toString('utf8')),
              ),
            }
          : {}),
      });
      const report = await deps.store.put(html, {
        kind: 'report',
        mediaType: 'text/html; charset=utf-8',
        extension: '.html',
      });
      await recordStepLineage(deps, {
        step: 'report',
        params: { model: params.model },
        // Only this run's evaluation: linking the champion's would route this version's lineage
        // through the champion's training data, which did not train it.
        inputs: {
          evaluation: params.evaluation,
          ...(params.datasetSummary ? { datasetSummary: params.datasetSummary } : {}),
          ...(params.importance ? { importance: params.importance } : {}),
        },
        outputs: { report },
        startedAt,
        outcome: 'succeeded',
      });
      return { report };
    });
  };
}
