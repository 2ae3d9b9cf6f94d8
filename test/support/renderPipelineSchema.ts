import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipelineFileJsonSchema } from '../../contracts/pipelineFile';

/** The committed JSON Schema of the pipeline file, for editors (test/unit/pipelineFile.test.ts keeps it current). */
export const PIPELINE_SCHEMA_FILE = join(__dirname, '..', '..', 'schemas', 'slipway.schema.json');

export function renderPipelineSchema(): string {
  return `${JSON.stringify(pipelineFileJsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(PIPELINE_SCHEMA_FILE, renderPipelineSchema());
  process.stdout.write(`Wrote ${PIPELINE_SCHEMA_FILE}\n`);
}
