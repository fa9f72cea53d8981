/**
 * Runs a built-in scenario through the public path a user takes (the README's commands), against any
 * running data space: one provider participant per role registers the role's dataset document
 * and imports its generated rows as CSV over HTTP; a consumer generates keys on its side,
 * submits the job, waits, fetches the encrypted result and decrypts it locally; the result is
 * compared with the plaintext reference on the same rows (docs/scenario-format.md, "Accuracy"), and
 * the usage ledger is checked when the ledger app answers.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  ApiError,
  DataspaceClient,
  type JobStatus,
  fetchResult,
  generateKeyFile,
  keyRequirements,
  readKeyFile,
  submitJob,
  waitForJob,
} from '#sdk';
import {
  type CompareOptions,
  type Row,
  type Scenario,
  catalogPurpose,
  compareResult,
  compilePlan,
  datasetDocumentFor,
  defaultParams,
  defaultRowCounts,
  evaluateReference,
  generateRoleRows,
  isCatalogId,
  noisyCompareOptions,
  withInternalMetrics,
} from '#scenario';
import { type CheckpointDoc, httpLedgerSource, verifyLedger } from '../commands/ledger.js';
import { csvStream } from './csv.js';

export interface DemoContext {
  /** base URL of the data space (provider, broker, ledger and worker apps) */
  url: string;
  adminToken: string;
  /** a private directory for the consumer's key files (mode 0600 inside) */
  workDir: string;
  /** progress lines for people (the CLI writes them on stderr) */
  say?: (line: string) => void;
}

export interface ScenarioRunOptions {
  /** rows per role; default: the catalog's default row counts */
  rows?: number;
  /** generator seed (same seed, same rows); default 1 */
  seed?: number;
}

export type LedgerCheck = 'verified' | 'absent' | 'failed';

export interface ScenarioRun {
  scenario: string;
  roles: number;
  /** rows over all roles */
  rows: number;
  /** wall time of the whole scenario: generation, import, keys, job, decryption, reference */
  seconds: number;
  /** wall time from submission to the job's end */
  jobSeconds: number | null;
  /** max |HE − reference| / max(1, |reference|) over every released number; null when there is no result */
  largestError: number | null;
  status: 'pass' | 'fail';
  ledger: LedgerCheck;
  job: string | null;
  /** why it failed (empty on a pass); never a row value or a secret */
  problems: string[];
}

/** A reset of a reused keep-alive socket: the server closed it before reading the request. */
function isSocketReset(e: unknown): boolean {
  if (e instanceof ApiError) return e.status === 0 && /ECONNRESET|EPIPE|socket hang up|other side closed/i.test(e.message);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return e instanceof TypeError && /ECONNRESET|EPIPE|UND_ERR_SOCKET/.test(`${cause?.code ?? ''} ${cause?.message ?? ''}`);
}

/**
 * Runs `fn` again once when the first attempt hit a reset keep-alive socket (Node's HTTP server
 * closes idle sockets after 5 s; a client reusing one at that moment gets ECONNRESET before the
 * server read anything). Every call passed here is safe to repeat in that case.
 */
async function retryOnReset<T>(fn: () => Promise<T>, say?: (line: string) => void): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isSocketReset(e)) throw e;
    say?.('  connection reset by the server; sending again');
    return fn();
  }
}

/** Participants and key files shared by the scenarios a runner runs (a consumer keeps its keyset). */
export class DemoRunner {
  private readonly admin: DataspaceClient;
  private consumer: DataspaceClient | null = null;
  private auditor: DataspaceClient | null = null;
  private readonly keyFiles = new Map<string, string>();

  constructor(private readonly ctx: DemoContext) {
    if (!ctx.url || !ctx.adminToken || !ctx.workDir) throw new TypeError('DemoRunner: url, adminToken and workDir are required');
    this.admin = new DataspaceClient({ url: ctx.url, token: ctx.adminToken });
  }

  private say(line: string): void {
    this.ctx.say?.(line);
  }

  private async participant(role: 'provider' | 'consumer' | 'auditor', name: string): Promise<DataspaceClient> {
    const p = await retryOnReset(() => this.admin.post<{ token: string }>('participants', { role, name }));
    return new DataspaceClient({ url: this.ctx.url, token: p.token });
  }

  /** Streams the rows to `POST /datasets/:id/rows` as text/csv. */
  private async importRows(provider: DataspaceClient, dataset: string, columns: string[], rows: Row[]): Promise<number> {
    const url = new URL(
      `datasets/${encodeURIComponent(dataset)}/rows?format=csv`,
      this.ctx.url.endsWith('/') ? this.ctx.url : this.ctx.url + '/',
    );
    const res = await fetch(url, {
      method: 'POST',
      body: csvStream(columns, rows) as unknown as RequestInit['body'],
      duplex: 'half',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${provider.opts.token ?? ''}` },
    } as RequestInit);
    const body = (await res.json().catch(() => ({}))) as {
      imported?: number;
      error?: string;
      message?: string;
      details?: { path?: string; message?: string }[];
    };
    if (!res.ok) {
      const d = body.details?.[0];
      throw new ApiError(
        res.status,
        body.error ?? `HTTP_${res.status}`,
        `${body.message ?? 'import refused'}${d ? `: ${d.path ?? ''} ${d.message ?? ''}` : ''}`,
        body.details ?? [],
      );
    }
    return body.imported ?? rows.length;
  }

  /** A key file fitting the scenario, generated once per set of requirements. */
  private async keyFile(scenario: Scenario): Promise<string> {
    const req = keyRequirements(scenario);
    const k = JSON.stringify(req);
    const known = this.keyFiles.get(k);
    if (known) return known;
    const file = join(this.ctx.workDir, `consumer-${this.keyFiles.size + 1}.keys`);
    const t = Date.now();
    const r = await generateKeyFile(file, req);
    this.say(`  keys: N=${r.params.polyModulusDegree}, ${req.galoisSteps.length} rotations, ${((Date.now() - t) / 1000).toFixed(1)} s`);
    this.keyFiles.set(k, file);
    return file;
  }

  /**
   * Checks the usage ledger when its app answers: signs a checkpoint now, audits the whole log
   * against it (`verifyLedger`: every leaf and node hash, the Ed25519 signature, proofs), and
   * requires the job's events to be in the signed tree.
   */
  private async checkLedger(job: string): Promise<{ check: LedgerCheck; problem?: string }> {
    this.auditor ??= await this.participant('auditor', 'demo auditor');
    try {
      await this.auditor.get<CheckpointDoc>('ledger/checkpoint');
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return { check: 'absent' };
      throw e;
    }
    // the events stored so far, then a checkpoint signed after them: it must cover every one
    const r = await this.auditor.get<{ total: number; entries: { index: number }[] }>(
      `ledger/entries?job=${encodeURIComponent(job)}&limit=1000`,
    );
    if (r.total === 0) return { check: 'failed', problem: `ledger: no events of job ${job}` };
    const signed = await this.auditor.post<CheckpointDoc>('ledger/checkpoint');
    const v = await verifyLedger(httpLedgerSource(this.auditor));
    if (!v.ok) return { check: 'failed', problem: `ledger: ${v.code}: ${v.problem}` };
    const outside = r.entries.filter((e) => e.index >= signed.size);
    if (outside.length)
      return {
        check: 'failed',
        problem: `ledger: ${outside.length} events of job ${job} are not under the checkpoint just signed (size ${signed.size})`,
      };
    return { check: 'verified' };
  }

  /** Runs one built-in scenario end to end; never throws for a failing scenario (the run says why). */
  async run(id: string, opts: ScenarioRunOptions = {}): Promise<ScenarioRun> {
    if (!isCatalogId(id)) throw new RangeError(`runScenario: ${JSON.stringify(id)} is not a built-in scenario id`);
    if (opts.rows !== undefined && (!Number.isSafeInteger(opts.rows) || opts.rows < 1))
      throw new RangeError('runScenario: rows must be a positive integer');
    const started = Date.now();
    const counts = defaultRowCounts(id);
    if (opts.rows !== undefined) for (const r of Object.keys(counts)) counts[r] = opts.rows;
    const out: ScenarioRun = {
      scenario: id,
      roles: Object.keys(counts).length,
      rows: Object.values(counts).reduce((a, b) => a + b, 0),
      seconds: 0,
      jobSeconds: null,
      largestError: null,
      status: 'fail',
      ledger: 'absent',
      job: null,
      problems: [],
    };
    try {
      // the registered document, as any consumer reads it
      const scenario = (
        await retryOnReset(() => this.admin.get<{ document: Scenario }>(`scenarios/${encodeURIComponent(id)}`), this.ctx.say)
      ).document;
      const rows: Record<string, Row[]> = {};
      const bindings: Record<string, string> = {};
      for (const role of Object.keys(scenario.inputs)) {
        rows[role] = generateRoleRows(id, role, { rows: counts[role], ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
        const provider = await this.participant('provider', `${id} ${role}`);
        const doc = datasetDocumentFor(id, role);
        const ds = await retryOnReset(() => provider.post<{ id: string }>('datasets', doc), this.ctx.say);
        const roleRows = rows[role];
        const n = await retryOnReset(() => this.importRows(provider, ds.id, Object.keys(doc.columns), roleRows), this.ctx.say);
        if (n !== rows[role].length) throw new Error(`provider ${role} imported ${n} rows, not ${rows[role].length}`);
        bindings[role] = ds.id;
      }
      this.say(`  imported ${out.rows} rows into ${out.roles} dataset(s)`);
      this.consumer ??= await this.participant('consumer', 'demo consumer');
      const keyFile = await this.keyFile(scenario);
      const keys = readKeyFile(keyFile);
      const params = defaultParams(id, counts);
      const submitted = Date.now();
      // the keyset upload is idempotent (keyed by fingerprint), the job by its idempotency key
      const request = { scenario: id, bindings, purpose: catalogPurpose(id), params, idempotencyKey: randomUUID() };
      const consumer = this.consumer;
      const job = await retryOnReset(() => submitJob(consumer, keys, scenario, request), this.ctx.say);
      out.job = String(job.id);
      let last = '';
      const jobId = out.job;
      const final: JobStatus = await retryOnReset(
        () =>
          waitForJob(consumer, jobId, (s) => {
            if (s.status !== last) this.say(`  job ${jobId}: ${s.status}`);
            last = s.status;
          }),
        this.ctx.say,
      );
      out.jobSeconds = (Date.now() - submitted) / 1000;
      if (final.status !== 'completed') {
        out.problems.push(`job ended ${final.status}${final.error ? `: ${final.error.code}: ${final.error.message}` : ''}`);
        return out;
      }
      const result = await retryOnReset(() => fetchResult(consumer, jobId, keys), this.ctx.say);
      const expected = evaluateReference(withInternalMetrics(scenario), params, rows, { groupRows: true });
      let compare: CompareOptions = {};
      if (scenario.release?.noise) {
        const plan = compilePlan(scenario, params, { rowCounts: counts });
        if (!plan.ok) throw new Error(`local plan for the noise bound failed: ${plan.errors[0]?.message ?? ''}`);
        // noisy metrics within their Laplace bound; noisy suppression (selection, noisy joint counts) may differ
        // from the exact rule near its threshold
        compare = noisyCompareOptions(plan.plan, expected.meta.groupRows);
      }
      const report = compareResult(scenario, result.metrics, expected.metrics, compare);
      out.largestError = report.largestError;
      for (const p of report.problems.slice(0, 5)) {
        out.problems.push(`${p.metric}${p.group ? `[${p.group}]` : ''}: ${p.message}`);
      }
      if (report.problems.length > 5) out.problems.push(`(+${report.problems.length - 5} more)`);
      // with `align`, the broker reports the rows that took part (aligned ones), not the input rows
      if (!scenario.align)
        for (const [role, n] of Object.entries(counts)) {
          // absent when counts are withheld (a policy requires noise or minGroupSize > 1, or the plan is noisy);
          // a privacy unit's bounds drop rows before they are counted: the reference says how many remain
          if (role in result.meta.rows && result.meta.rows[role] !== (expected.meta.rows[role] ?? n))
            out.problems.push(`meta.rows.${role} is ${String(result.meta.rows[role])}, not ${expected.meta.rows[role] ?? n}`);
        }
      const ledger = await retryOnReset(() => this.checkLedger(jobId), this.ctx.say);
      out.ledger = ledger.check;
      if (ledger.problem) out.problems.push(ledger.problem);
      if (out.problems.length === 0) out.status = 'pass';
      return out;
    } catch (e) {
      const msg = e instanceof ApiError ? `${e.code}: ${e.message}` : (e as Error).message;
      out.problems.push(msg.split('\n')[0]!);
      return out;
    } finally {
      out.seconds = (Date.now() - started) / 1000;
    }
  }
}

/** One scenario end to end with a fresh runner (participants and keys of its own). */
export async function runScenario(ctx: DemoContext, id: string, opts: ScenarioRunOptions = {}): Promise<ScenarioRun> {
  return new DemoRunner(ctx).run(id, opts);
}
