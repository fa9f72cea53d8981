/**
 * One job, timed from outside: the consumer's submission, then the job status polled every
 * `pollMs` (per-provider status 'encoding' → ['intersecting'] → 'encrypting' → 'encrypted', then
 * 'evaluating' and 'completed'), then the encrypted result fetched and decrypted locally.
 * Stage boundaries are the first poll that shows a status, so each is late by up to one poll.
 */
import type { SecretKeyset } from '#he-core';
import type { Plan, ResultDocument } from '#scenario';
import { ApiError, type DataspaceClient, type EncryptedResult, type JobStatus, TERMINAL, decryptResult, publishKeyset } from '#sdk';
import { type JobProgress, QueueName } from '#contracts';
import type { QueueService } from '#platform';

/** Where the server's BullMQ jobs are, for their server-side timestamps (in-process deployments). */
export interface QueueProbe {
  queues: QueueService;
  connectorId: string;
}

export interface JobRequest {
  scenario: string;
  bindings: Record<string, string>;
  purpose: string;
  params?: Record<string, unknown>;
}

export interface JobRun {
  id: string;
  status: string;
  error: unknown;
  /** ms from the start of submission */
  marks: Record<string, number>;
  /** per role: ms from the start of submission at which each provider status was first seen */
  roles: Record<string, Record<string, number>>;
  stages: Record<string, number>;
  /** the evaluation worker's own figure (meta.evaluationMs) */
  serverEvaluationMs: number | null;
  totalMs: number;
  /** CPU time (user + system, every thread of this process: server apps, HE threads, consumer) from submission to the decrypted result */
  cpuMs: number;
  /** per role, how many times BullMQ ran the provider's task (attempts + stalled re-runs); > 1: the queue boundaries are the last run's */
  taskRuns: Record<string, number>;
  progress: JobProgress;
  result: ResultDocument | null;
  plan: Plan | null;
}

/**
 * GET with retries on a reset connection: a server whose event loop is blocked for seconds (the
 * provider encrypts or blinds on it) may close an idle keep-alive socket just as the client reuses it.
 */
export async function getRetrying<T>(client: DataspaceClient, path: string, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await client.get<T>(path);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 0 || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 100 * i));
    }
  }
}

/** Publishes the keyset (idempotent) and submits the job without re-uploading the keyset. */
export async function submit(client: DataspaceClient, keyset: string, req: JobRequest): Promise<string> {
  const body = { scenario: req.scenario, bindings: req.bindings, keyset, purpose: req.purpose, params: req.params ?? {} };
  const r = await client.post<{ id: string }>('jobs', body);
  return r.id;
}

interface LedgerEvent {
  type: string;
  at: string;
  data?: { role?: string };
}

/**
 * Server-side times (ms from `t0`, epoch clock) of the job's ledger events: `job.submitted`,
 * `inputs.encrypted.<role>` (recorded by the provider after encrypting, before uploading),
 * `job.evaluated`, `job.released`. The ledger appends asynchronously, so this waits for them.
 */
async function ledgerMarks(client: DataspaceClient, id: string, t0: number, roles: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await getRetrying<{ entries: { event: LedgerEvent }[] }>(client, `ledger/entries?job=${encodeURIComponent(id)}&limit=200`);
    for (const { event } of r.entries) {
      const name = event.type === 'inputs.encrypted' ? `ledger:inputs.encrypted.${event.data?.role ?? '?'}` : `ledger:${event.type}`;
      out[name] = Date.parse(event.at) - t0;
    }
    const encrypted = Object.keys(out).filter((k) => k.startsWith('ledger:inputs.encrypted.')).length;
    if ((out['ledger:job.released'] !== undefined && encrypted >= roles) || Date.now() > deadline) return out;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * BullMQ's own timestamps of the job's flow (ms from `t0`): per role, the encryption task's
 * added / picked up (`processedOn`) / finished time, and the evaluation's. Ids as the orchestrator
 * makes them (libs/job-flow job-orchestrator.service.ts `flowIds`).
 */
async function queueMarks(
  probe: QueueProbe,
  id: string,
  roles: string[],
  t0: number,
  runs?: Record<string, number>,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const put = (name: string, v: number | undefined): void => {
    if (typeof v === 'number') out[name] = v - t0;
  };
  for (const role of roles) {
    const j = await probe.queues.job(QueueName.encrypt(probe.connectorId), `enc-${id}-${role.replace(/[^A-Za-z0-9_-]/g, '_')}`);
    put(`queue:encrypt.${role}.added`, j?.addedAt);
    put(`queue:encrypt.${role}.processed`, j?.processedAt);
    put(`queue:encrypt.${role}.finished`, j?.finishedAt);
    // a task run more than once (retried, or re-run after its lock lapsed while the event loop was blocked)
    if (j && runs) runs[role] = Math.max(1, j.attemptsMade) + j.stalledCount;
  }
  const e = await probe.queues.job(QueueName.evaluate, `eval-${id}`);
  put('queue:evaluate.processed', e?.processedAt);
  put('queue:evaluate.finished', e?.finishedAt);
  return out;
}

/**
 * Runs one job end to end and returns its timeline. `publish` says whether the keyset upload is
 * part of the timed submission (the SDK's `submitJob` uploads it with every job). Times are on the
 * epoch clock (`Date.now()`), shared with the server's ledger event times (same machine).
 */
export async function runTimedJob(
  client: DataspaceClient,
  keys: SecretKeyset,
  req: JobRequest,
  opts: { pollMs?: number; timeoutMs?: number; publish?: boolean; probe?: QueueProbe } = {},
): Promise<JobRun> {
  const pollMs = opts.pollMs ?? 25;
  const deadline = Date.now() + (opts.timeoutMs ?? 1_800_000);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const since = (): number => Date.now() - t0;
  const marks: Record<string, number> = {};
  const keyset = opts.publish === false ? keys.publicKeyset.fingerprint : await publishKeyset(client, keys);
  if (opts.publish !== false) marks.keysetPublished = since();
  const id = await submit(client, keyset, req);
  marks.submitted = since();
  const roles: Record<string, Record<string, number>> = {};
  const taskRuns: Record<string, number> = {};
  let st: JobStatus;
  for (;;) {
    st = await getRetrying<JobStatus>(client, `jobs/${encodeURIComponent(id)}`);
    const now = since();
    if (marks[`job:${st.status}`] === undefined) marks[`job:${st.status}`] = now;
    for (const [role, p] of Object.entries(st.progress?.providers ?? {})) {
      const seen = (roles[role] ??= {});
      if (p.status && seen[p.status] === undefined) seen[p.status] = now;
    }
    if (TERMINAL.has(st.status)) break;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${st.status} after the timeout`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  marks.terminal = since();
  let result: ResultDocument | null = null;
  let plan: Plan | null = null;
  if (st.status === 'completed') {
    const r = await getRetrying<EncryptedResult>(client, `jobs/${encodeURIComponent(id)}/result`);
    marks.fetched = since();
    plan = r.plan;
    result = await decryptResult(r, keys);
    marks.decrypted = since();
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  if (st.status === 'completed') {
    Object.assign(marks, await ledgerMarks(client, id, t0, Object.keys(roles).length));
    if (opts.probe) Object.assign(marks, await queueMarks(opts.probe, id, Object.keys(roles), t0, taskRuns));
  }
  if (process.env.BENCH_DEBUG) process.stderr.write(`job ${id}: ${JSON.stringify({ marks, roles })}\n`);
  return {
    id,
    status: st.status,
    error: st.error,
    marks,
    roles,
    stages: stagesOf(marks, roles),
    serverEvaluationMs: typeof st.meta?.evaluationMs === 'number' ? st.meta.evaluationMs : null,
    totalMs: marks.decrypted ?? marks.terminal,
    cpuMs,
    taskRuns,
    progress: st.progress,
    result,
    plan,
  };
}

/**
 * Stage durations (ms). Provider stages span all providers (they work concurrently): from the first
 * provider starting to the last one finishing. Boundaries come from server clocks where there is one
 * (BullMQ's processedOn/finishedOn, ledger event times); polled statuses are late by up to one poll,
 * or by as long as the server's event loop is busy (the provider encrypts on it), and are only used
 * where nothing else marks the moment (the start of a private set intersection).
 */
export function stagesOf(marks: Record<string, number>, roles: Record<string, Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  const names = Object.keys(roles);
  const per = (f: (r: string) => number | undefined): (number | undefined)[] => names.map(f);
  const max = (xs: (number | undefined)[]): number | undefined =>
    xs.length && xs.every((x) => x !== undefined) ? Math.max(...(xs as number[])) : undefined;
  const min = (xs: (number | undefined)[]): number | undefined =>
    xs.length && xs.every((x) => x !== undefined) ? Math.min(...(xs as number[])) : undefined;
  const submitted = marks.submitted ?? 0;
  if (marks.keysetPublished !== undefined) out['keyset upload'] = marks.keysetPublished;
  out['consumer: submit (POST /jobs)'] = submitted - (marks.keysetPublished ?? 0);
  const added = min(per((r) => marks[`queue:encrypt.${r}.added`]));
  const picked = min(per((r) => marks[`queue:encrypt.${r}.processed`]));
  const encrypted = max(per((r) => marks[`ledger:inputs.encrypted.${r}`]));
  const finished = max(per((r) => marks[`queue:encrypt.${r}.finished`]));
  const evalStart = marks['queue:evaluate.processed'];
  const evaluated = marks['ledger:job.evaluated'];
  const evalEnd = marks['queue:evaluate.finished'];
  if (added !== undefined && picked !== undefined) out['queue: wait for the provider worker (last run)'] = picked - added;
  if (picked !== undefined && encrypted !== undefined) out['provider: check + read rows + encode + encrypt (+ PSI)'] = encrypted - picked;
  const psi = names
    .map((r) => {
      const s = roles[r]!;
      if (s.intersecting === undefined) return undefined;
      return (s.encrypting ?? marks[`ledger:inputs.encrypted.${r}`] ?? s.intersecting) - s.intersecting;
    })
    .filter((x): x is number => x !== undefined);
  if (psi.length)
    out[
      `  of which PSI, polled ('intersecting' → ${names.every((r) => roles[r]!.encrypting !== undefined) ? "'encrypting'" : 'inputs encrypted: includes encode + encrypt'})`
    ] = Math.max(...psi);
  if (encrypted !== undefined && finished !== undefined) out['provider: upload (store ciphertexts at the broker)'] = finished - encrypted;
  if (finished !== undefined && evalStart !== undefined) out['queue: flow → evaluation start'] = evalStart - finished;
  if (evalStart !== undefined && evaluated !== undefined) out['broker: evaluation'] = evaluated - evalStart;
  if (evaluated !== undefined && evalEnd !== undefined) out['broker: release (record, store encrypted result)'] = evalEnd - evaluated;
  if (evalEnd !== undefined && marks.terminal !== undefined) out['consumer: sees completion (poll)'] = marks.terminal - evalEnd;
  if (marks.fetched !== undefined) out['consumer: result fetch'] = marks.fetched - marks.terminal!;
  if (marks.decrypted !== undefined) out['consumer: decrypt + decode'] = marks.decrypted - marks.fetched!;
  return out;
}
