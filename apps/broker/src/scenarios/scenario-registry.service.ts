import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, type Principal } from '#contracts';
import { ScenarioEntity, inTransaction } from '#persistence';
import { LedgerRecorder } from '#platform';
import { type Scenario, validateScenario } from '#scenario';

export interface ScenarioVersion {
  id: string;
  version: number;
  scenario: Scenario;
  builtin: boolean;
  createdAt: Date;
}

/**
 * The scenario registry: validated documents, versioned. Re-registering an id creates a new version;
 * a job keeps the version it was submitted with. An invalid document is refused whole, with every problem.
 */
@Injectable()
export class ScenarioRegistry {
  constructor(
    private readonly ds: DataSource,
    private readonly ledger: LedgerRecorder,
  ) {}

  async register(
    doc: unknown,
    by: Principal,
    opts: { builtin?: boolean } = {},
  ): Promise<{ id: string; version: number; created: boolean }> {
    const v = validateScenario(doc);
    if (!v.ok) {
      throw new AppError(
        'VALIDATION_FAILED',
        `invalid scenario document: ${v.errors.length} problem(s)`,
        v.errors.map((e) => ({ path: e.path, code: e.code, message: e.message })),
      );
    }
    const scenario = v.scenario;
    return inTransaction(this.ds, async (m) => {
      const repo = m.getRepository(ScenarioEntity);
      const latest = await repo.findOne({ where: { id: scenario.id }, order: { version: 'DESC' } });
      if (latest) {
        // A scenario id belongs to whoever published its first version; built-ins to the administrators.
        const first = latest.version === 1 ? latest : await repo.findOneBy({ id: scenario.id, version: 1 });
        const builtin = latest.builtin || first?.builtin === true;
        if (builtin && by.role !== 'admin')
          throw new AppError('FORBIDDEN', `scenario ${scenario.id} is built in: only an administrator publishes its versions`);
        if (!builtin && by.role !== 'admin' && first?.registeredBy !== by.id) {
          throw new AppError('FORBIDDEN', `scenario ${scenario.id} belongs to another participant: only its owner publishes its versions`);
        }
        if (JSON.stringify(latest.document) === JSON.stringify(scenario)) {
          return { id: scenario.id, version: latest.version, created: false };
        }
      }
      const version = (latest?.version ?? 0) + 1;
      await repo.insert({ id: scenario.id, version, document: scenario, registeredBy: by.id, builtin: !!opts.builtin });
      // Recorded last in the transaction: an insert that fails leaves no event behind; a ledger that cannot
      // take the event rolls the insert back.
      await this.ledger.record({
        type: 'scenario.registered',
        actor: { id: by.id, role: by.role },
        scenario: scenario.id,
        data: { version, builtin: !!opts.builtin },
      });
      return { id: scenario.id, version, created: true };
    });
  }

  async get(id: string, version?: number): Promise<ScenarioVersion> {
    const repo = this.ds.getRepository(ScenarioEntity);
    const row =
      version === undefined ? await repo.findOne({ where: { id }, order: { version: 'DESC' } }) : await repo.findOneBy({ id, version });
    if (!row) throw new AppError('UNKNOWN_SCENARIO', version === undefined ? `no scenario ${id}` : `no scenario ${id} version ${version}`);
    return {
      id: row.id,
      version: row.version,
      scenario: row.document,
      builtin: row.builtin,
      createdAt: row.createdAt,
    };
  }

  /** The latest version of every scenario. */
  async list(): Promise<ScenarioVersion[]> {
    const rows = await this.ds.getRepository(ScenarioEntity).find({ order: { id: 'ASC', version: 'DESC' } });
    const seen = new Set<string>();
    const out: ScenarioVersion[] = [];
    for (const r of rows) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      out.push({ id: r.id, version: r.version, scenario: r.document, builtin: r.builtin, createdAt: r.createdAt });
    }
    return out;
  }
}
