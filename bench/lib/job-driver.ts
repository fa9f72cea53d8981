/**
 * A steady stream of small HE jobs for the load and soak benchmarks: several consumers (each with its own
 * keyset) over datasets of several providers, a fixed number of jobs in flight, each followed by status
 * polls, the encrypted result's fetch, local decryption and a comparison with the plaintext reference
 * evaluator (the accuracy table of docs/scenario-format.md, as bench/water.ts checks). A 429 from admission
 * control is counted and retried after its Retry-After, never counted as a job.
 */
import { HeEngine, paramsId, type SecretKeyset } from '#he-core';
import { httpLedgerSource, verifyLedger } from '../../apps/cli/src/commands/ledger.js';
import type { Report } from './report.js';
import {
  type ResultDocument,
  type Scenario,
  builtinScenario,
  catalogPurpose,
  compareResult,
  datasetDocumentFor,
  evaluateReference,
  generateRoleRows,
} from '#scenario';
import { ApiError, type DataspaceClient, type EncryptedResult, TERMINAL, type JobStatus, decryptResult, publishKeyset } from '#sdk';
import { getRetrying, submit } from './jobs.js';
import { catalogRows, consumerKeys, importRows, localPlan, registerCatalogDataset } from './system.js';

export interface Consumer {
  name: string;
  client: DataspaceClient;
  keys: SecretKeyset;
  keyset: string;
}

export interface BoundDataset {
  id: string;
  provider: string;
  seed: number;
  /** the plaintext reference result of the scenario on this dataset's rows */
  reference: ResultDocument['metrics'];
}

export interface JobRecord {
  id: string;
  consumer: string;
  dataset: string;
  submittedAt: number;
  endedAt: number | null;
  status: string;
  /** the decrypted result within the accuracy table (null: not checked) */
  correct: boolean | null;
  problem?: string;
}

export interface Workload {
  scenario: Scenario;
  role: string;
  rows: number;
  purpose: string;
  consumers: Consumer[];
  datasets: BoundDataset[];
}

type Participant = (role: 'provider' | 'consumer' | 'auditor', name: string) => Promise<DataspaceClient>;

/**
 * Registers `providers` providers with one catalog dataset each (`rows` seeded rows, a different seed each)
 * and `consumers` consumers with their own keys, published once.
 */
export async function prepareWorkload(
  participant: Participant,
  opts: { scenarioId: string; role: string; rows: number; providers: number; consumers: number; keyDir: string },
): Promise<Workload> {
  const scenario = builtinScenario(opts.scenarioId);
  const columns = Object.keys(datasetDocumentFor(opts.scenarioId, opts.role).columns);
  const datasets: BoundDataset[] = [];
  for (let p = 1; p <= opts.providers; p++) {
    const provider = await participant('provider', `provider ${p}`);
    const id = await registerCatalogDataset(provider, opts.scenarioId, opts.role);
    const seed = 100 + p;
    await importRows(provider, id, columns, catalogRows(opts.scenarioId, opts.role, opts.rows, seed));
    const rows = generateRoleRows(opts.scenarioId, opts.role, { rows: opts.rows, seed });
    const reference = evaluateReference(scenario, {}, { [opts.role]: rows }).metrics;
    datasets.push({ id, provider: `provider ${p}`, seed, reference });
  }
  const plan = localPlan(scenario, {}, { [opts.role]: opts.rows });
  const consumers: Consumer[] = [];
  for (let c = 1; c <= opts.consumers; c++) {
    const client = await participant('consumer', `consumer ${c}`);
    const { keys } = await consumerKeys(opts.keyDir, plan, `load-consumer-${c}`);
    const keyset = await publishKeyset(client, keys);
    consumers.push({ name: `consumer ${c}`, client, keys, keyset });
  }
  return { scenario, role: opts.role, rows: opts.rows, purpose: catalogPurpose(opts.scenarioId), consumers, datasets };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Signs a checkpoint as the auditor and verifies the whole ledger over HTTP, as `dataspace ledger verify` does. */
export async function reportLedgerVerified(report: Report, section: string, auditor: DataspaceClient): Promise<void> {
  await auditor.post('ledger/checkpoint');
  const v = await verifyLedger(httpLedgerSource(auditor));
  report.add({
    section,
    name: 'ledger verifies (dataspace ledger verify)',
    value: v.ok ? `yes, ${v.size} entries` : `NO: ${v.code} ${v.problem}`,
    target: 'yes',
    met: v.ok,
  });
}

export class JobDriver {
  readonly jobs: JobRecord[] = [];
  /** submissions answered 429 (admission control), retried */
  rejected = 0;
  /** other submission or polling errors (each ends the attempt, the slot goes on) */
  readonly errors: string[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private next = 0;
  /** one engine per parameter set for decryption (creating a SEAL context per result would dominate) */
  private readonly engines = new Map<string, Promise<HeEngine>>();

  constructor(
    private readonly work: Workload,
    private readonly opts: { inFlight: number; pollMs: number; verify: boolean },
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.opts.inFlight }, (_, i) => this.slot(i));
  }

  /** Stops submitting; resolves once every job in flight has ended (and been checked). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const e of this.engines.values()) (await e).dispose();
    this.engines.clear();
  }

  /** Ids of recent jobs (for status reads by the load generator). */
  recentIds(n: number): string[] {
    return this.jobs.slice(-n).map((j) => j.id);
  }

  completedBetween(from: number, to: number): number {
    return this.jobs.filter((j) => j.status === 'completed' && j.endedAt !== null && j.endedAt >= from && j.endedAt < to).length;
  }

  private async slot(i: number): Promise<void> {
    while (this.running) {
      const k = this.next++;
      const consumer = this.work.consumers[k % this.work.consumers.length]!;
      // a different stride over datasets than over consumers: every consumer meets every provider
      const dataset = this.work.datasets[(k + Math.floor(k / this.work.consumers.length)) % this.work.datasets.length]!;
      try {
        await this.runOne(consumer, dataset);
      } catch (e) {
        this.errors.push(`slot ${i}: ${e instanceof Error ? e.message : String(e)}`);
        await sleep(500);
      }
    }
  }

  private async runOne(consumer: Consumer, dataset: BoundDataset): Promise<void> {
    let id: string;
    for (;;) {
      try {
        id = await submit(consumer.client, consumer.keyset, {
          scenario: this.work.scenario.id,
          bindings: { [this.work.role]: dataset.id },
          purpose: this.work.purpose,
        });
        break;
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 429) throw e;
        this.rejected++;
        if (!this.running) return;
        await sleep(1000);
      }
    }
    const rec: JobRecord = {
      id,
      consumer: consumer.name,
      dataset: dataset.id,
      submittedAt: Date.now(),
      endedAt: null,
      status: 'queued',
      correct: null,
    };
    this.jobs.push(rec);
    let st: JobStatus;
    for (;;) {
      await sleep(this.opts.pollMs);
      st = await getRetrying<JobStatus>(consumer.client, `jobs/${encodeURIComponent(id)}`);
      rec.status = st.status;
      if (TERMINAL.has(st.status)) break;
    }
    rec.endedAt = Date.now();
    if (st.status !== 'completed') {
      rec.problem = `${st.status}: ${JSON.stringify(st.error)}`;
      return;
    }
    const r = await getRetrying<EncryptedResult>(consumer.client, `jobs/${encodeURIComponent(id)}/result`);
    if (!this.opts.verify) return;
    const doc = await this.decrypt(r, consumer.keys);
    const acc = compareResult(this.work.scenario, doc.metrics, dataset.reference);
    rec.correct = acc.ok;
    if (!acc.ok) rec.problem = acc.problems[0]?.message ?? 'result differs from the plaintext reference';
  }

  /** The SDK's decryptResult, with one engine kept per parameter set. */
  private async decrypt(r: EncryptedResult, keys: SecretKeyset): Promise<ResultDocument> {
    const params = r.plan.params;
    const key = paramsId(params);
    let p = this.engines.get(key);
    if (!p) this.engines.set(key, (p = HeEngine.create(params)));
    return decryptResult(r, keys, await p);
  }
}
