export { columnSpecSchema, columnsSchema, COLUMN_NAME, MAX_TEXT_LENGTH } from './columns.js';
export type { CategoryColumn, ColumnSpec, Columns, DatasetRow, IdColumn, NumberColumn } from './columns.js';
export { datasetDocumentSchema, datasetJsonSchema, validateDatasetDocument } from './document.js';
export type { DatasetDocument, DocumentError, DocumentValidation } from './document.js';
export { validateRowStream } from './import.js';
export type { RowFormat, RowImportOptions, RowImportReport } from './import.js';
export type { ImportProblem, ProblemCode } from './problems.js';
export { parseCsvCell, parseJsonCell } from './cells.js';
