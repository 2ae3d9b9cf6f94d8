/**
 * Output for people by default, one JSON object with --json for scripts. Progress and logs always
 * go to stderr so `slipway ... --json | jq` sees nothing but the result.
 */
export interface OutputOptions {
  json?: boolean;
}

export function printResult(options: OutputOptions, result: unknown, human: () => string): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(`${human()}\n`);
  }
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A two-column table for summaries: labels left-aligned, values after them. */
export function keyValueTable(rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

/** A plain table with a header row, columns padded to their widest cell. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(cells[0] ?? []), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join(
    '\n',
  );
}
