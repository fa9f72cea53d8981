/** Codes of row-import problems; messages never quote a cell (a value may be sensitive). */
export type ProblemCode =
  | 'EMPTY_FILE'
  | 'MALFORMED_CSV'
  | 'MALFORMED_JSON'
  | 'NOT_AN_OBJECT'
  | 'NOT_AN_ARRAY'
  | 'MISSING_COLUMN'
  | 'EXTRA_COLUMN'
  | 'DUPLICATE_COLUMN'
  | 'WRONG_FIELD_COUNT'
  | 'MISSING_FIELD'
  | 'EXTRA_FIELD'
  | 'MISSING_VALUE'
  | 'NOT_A_NUMBER'
  | 'NOT_AN_INTEGER'
  | 'OUT_OF_RANGE'
  | 'UNKNOWN_CATEGORY'
  | 'NOT_A_STRING'
  | 'TOO_LONG';

export interface ImportProblem {
  /** 1-based line of the file (CSV: the header is line 1, so the first data row is line 2). */
  line: number;
  /** The column (or header/field name) concerned; `null` when the whole row or file is. */
  column: string | null;
  code: ProblemCode;
  message: string;
}

/** Keeps the first `limit` problems and counts all of them. */
export class ProblemCollector {
  readonly problems: ImportProblem[] = [];
  count = 0;
  constructor(private readonly limit: number) {}
  add(line: number, column: string | null, code: ProblemCode, message: string): void {
    this.count++;
    if (this.problems.length < this.limit) this.problems.push({ line, column, code, message });
  }
}
