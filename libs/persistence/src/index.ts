export * from './entities.js';
export * from './data-source.js';
export { isPostgresUrl } from './column-types.js';
export { forUpdate, inTransaction, purgeJobCiphertexts } from './transaction.js';
export { datasetRowWriter, deleteDatasetRows, nextDatasetSeq, readDatasetRows, ROWS_PER_BLOCK, storedRowCount } from './rows.js';
export type { DatasetRowWriter } from './rows.js';
