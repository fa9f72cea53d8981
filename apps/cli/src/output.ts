/** The error document of the HTTP API, printed on stdout by a failing command given `--json`. */
export interface ErrorDocument {
  error: string;
  message: string;
  details: unknown[];
}

/**
 * An error the CLI prints as one line on stderr, exiting with `exitCode` (1 refused/invalid, 2 usage,
 * 3 unreachable, 4 server error). With `--json`, `document` (or one made of the message) is printed on stdout.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly document?: ErrorDocument,
  ) {
    super(message);
  }
}

/** The document a failing command prints with `--json`. */
export function errorDocumentOf(e: unknown): ErrorDocument {
  if (e instanceof CliError && e.document) return e.document;
  const message = e instanceof Error ? e.message : String(e);
  const error = e instanceof CliError ? (e.exitCode === 2 ? 'USAGE' : e.exitCode === 3 ? 'UNREACHABLE' : 'FAILED') : 'FAILED';
  return { error, message, details: [] };
}

let printedJson = false;

export function printJson(v: unknown): void {
  printedJson = true;
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

/** True once a command has printed its JSON output (a failure after it adds no second document). */
export function hasPrintedJson(): boolean {
  return printedJson;
}

/** A plain text table for people. */
export function printTable(rows: Record<string, unknown>[], columns?: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(line(cols) + '\n' + line(widths.map((w) => '-'.repeat(w))) + '\n');
  for (const r of rows) process.stdout.write(line(cols.map((c) => cell(r[c]))) + '\n');
}
