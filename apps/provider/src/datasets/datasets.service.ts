import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, ConnectorPort, type Principal } from '#contracts';
import { type DatasetRow, type RowFormat, validateDatasetDocument, validateRowStream } from '#dataset';
import {
  DatasetEntity,
  datasetRowWriter,
  deleteDatasetRows,
  forUpdate,
  inTransaction,
  nextDatasetSeq,
  readDatasetRows,
  ROWS_PER_BLOCK,
} from '#persistence';
import { type AppConfig, CONFIG, LedgerRecorder } from '#platform';

export type ImportMode = 'append' | 'replace';

export function datasetView(d: DatasetEntity): Record<string, unknown> {
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    owner: d.ownerId,
    columns: d.columns,
    policy: d.policy,
    rows: d.rowCount,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

/** Rows handed to the store at a time: one COPY on PostgreSQL, one INSERT per block on SQLite (libs/persistence/src/rows.ts). */
const IMPORT_BATCH = 10 * ROWS_PER_BLOCK;

@Injectable()
export class DatasetsService {
  constructor(
    private readonly ds: DataSource,
    private readonly ledger: LedgerRecorder,
    private readonly broker: ConnectorPort,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {}

  get maxImportBytes(): number {
    return this.cfg.MAX_IMPORT_BYTES;
  }

  async register(doc: unknown, owner: Principal): Promise<DatasetEntity> {
    const v = validateDatasetDocument(doc);
    if (!v.ok)
      throw new AppError(
        'VALIDATION_FAILED',
        `invalid dataset document: ${v.errors.length} problem(s)`,
        v.errors.map((e) => ({ path: e.path ? `$.${e.path}` : '$', code: e.code, message: e.message })),
      );
    const id = randomUUID();
    return inTransaction(this.ds, async (m) => {
      const row = m.getRepository(DatasetEntity).create({
        id,
        ownerId: owner.id,
        connectorId: this.cfg.CONNECTOR_ID,
        name: v.dataset.name,
        description: v.dataset.description ?? '',
        columns: v.dataset.columns,
        policy: v.dataset.policy,
        rowCount: 0,
      });
      await m.getRepository(DatasetEntity).insert(row);
      // Recorded once the insert went through (a failed insert leaves no event), before the offer is published.
      await this.ledger.record({
        id: `${id}.registered`,
        type: 'dataset.registered',
        actor: { id: owner.id, role: owner.role },
        datasets: [id],
        data: { name: v.dataset.name, policy: v.dataset.policy },
      });
      await this.publish(row);
      return row;
    });
  }

  private async publish(d: DatasetEntity): Promise<void> {
    await this.broker.publishOffer({
      datasetId: d.id,
      providerId: d.ownerId,
      connectorId: d.connectorId,
      name: d.name,
      description: d.description,
      columns: d.columns,
      policy: { ...d.policy },
      rowCount: d.rowCount,
    });
  }

  async get(id: string, who: Principal): Promise<DatasetEntity> {
    const d = await this.ds.getRepository(DatasetEntity).findOneBy({ id });
    if (!d || (who.role === 'provider' && d.ownerId !== who.id)) throw new AppError('NOT_FOUND', `no dataset ${id}`);
    return d;
  }

  async list(who: Principal): Promise<DatasetEntity[]> {
    return this.ds
      .getRepository(DatasetEntity)
      .find({ where: who.role === 'provider' ? { ownerId: who.id } : {}, order: { createdAt: 'ASC' } });
  }

  /**
   * Imports rows, streamed and validated against the schema. The whole file is staged in one transaction:
   * a file with any bad row is refused whole (line and column of each problem, first 100) and nothing of it
   * is stored. `append` adds to the dataset's rows; `replace` swaps them for the file's.
   */
  async importRows(
    id: string,
    who: Principal,
    input: AsyncIterable<Uint8Array | string>,
    format: RowFormat,
    mode: ImportMode,
  ): Promise<{ id: string; imported: number; rows: number; mode: ImportMode }> {
    const d = await this.get(id, who);
    if (who.role !== 'provider' && who.role !== 'admin') throw new AppError('FORBIDDEN', 'only the dataset owner imports rows');
    class Refused extends Error {}
    try {
      return await inTransaction(this.ds, async (m) => {
        // The dataset row is locked for the whole import (PostgreSQL: FOR UPDATE; SQLite: the transaction holds
        // the write lock from BEGIN IMMEDIATE), so concurrent appends queue up: each one numbers its rows after
        // the previous one's and adds to the count that one committed.
        const locked = await m.getRepository(DatasetEntity).findOne({ where: { id }, ...forUpdate(m) });
        if (!locked) throw new AppError('NOT_FOUND', `no dataset ${id}`);
        if (mode === 'replace') await deleteDatasetRows(m, id);
        const start = mode === 'replace' ? 0 : await nextDatasetSeq(m, id);
        // Bulk writes inside this transaction: a refused file rolls back whole (issue 20: >= 150,000 rows/s).
        const writer = await datasetRowWriter(m, id, start);
        const report = await validateRowStream(input, {
          format,
          columns: d.columns,
          onBatch: (rows) => writer.write(rows),
          batchSize: IMPORT_BATCH,
        });
        if (!report.ok) {
          throw new Refused(
            JSON.stringify({
              problemCount: report.problemCount,
              problems: report.problems,
            }),
          );
        }
        const imported = writer.nextSeq - start;
        const total = mode === 'replace' ? imported : locked.rowCount + imported;
        await m.getRepository(DatasetEntity).update({ id }, { rowCount: total });
        // Recorded once the rows and the count are written; a ledger failure rolls them back.
        await this.ledger.record({
          type: 'dataset.imported',
          actor: { id: who.id, role: who.role },
          datasets: [id],
          data: { rows: imported, total, mode },
        });
        await this.publish({ ...locked, rowCount: total } as DatasetEntity);
        return { id, imported, rows: total, mode };
      });
    } catch (e) {
      if (e instanceof Refused) {
        const r = JSON.parse(e.message) as {
          problemCount: number;
          problems: { line: number; column: string | null; code: string; message: string }[];
        };
        throw new AppError(
          'UNPROCESSABLE',
          `the file was refused whole: ${r.problemCount} problem(s); nothing was stored`,
          r.problems.map((p) => ({
            path: `line ${p.line}${p.column ? `, column ${p.column}` : ''}`,
            line: p.line,
            column: p.column,
            code: p.code,
            message: p.message,
          })),
        );
      }
      throw e;
    }
  }

  /** The dataset's rows, in import order, a stored block (up to ROWS_PER_BLOCK rows) at a time (for the connector's encryption worker only). */
  rows(id: string): AsyncGenerator<DatasetRow[]> {
    return readDatasetRows(this.ds, id) as AsyncGenerator<DatasetRow[]>;
  }
}
