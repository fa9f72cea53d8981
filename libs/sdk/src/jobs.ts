import { type JobError, type JobProgress, type ResultMeta, TERMINAL_JOB_STATUSES } from '#contracts';
import { HeEngine, type SecretKeyset } from '#he-core';
import { type EvaluationMeta, type ParamValues, type Plan, type ResultDocument, type Scenario, decodeResult } from '#scenario';
import { type DataspaceClient } from './client.js';
import { publicKeysetBytes } from './keys.js';

export interface SubmitRequest {
  scenario: string;
  version?: number;
  bindings: Record<string, string>;
  purpose: string;
  /** Every parameter value; private ones are encrypted here and never sent in the clear. */
  params?: ParamValues;
  idempotencyKey?: string;
}

export interface JobStatus {
  id: string;
  scenario: string;
  version: number;
  status: string;
  progress: JobProgress;
  error: JobError | null;
  meta: ResultMeta | null;
}

/** The statuses of a job that ended (the job state machine, `#contracts`): waiting for a job stops there. */
export const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_JOB_STATUSES);

/** Publishes the public part of the keyset (idempotent: the server keys it by fingerprint). */
export async function publishKeyset(client: DataspaceClient, keys: SecretKeyset): Promise<string> {
  const r = await client.postRaw<{ id: string }>('keysets', publicKeysetBytes(keys), 'application/octet-stream');
  return r.id;
}

function splitParams(scenario: Scenario, params: ParamValues): { open: ParamValues; secret: ParamValues } {
  const open: ParamValues = {};
  const secret: ParamValues = {};
  for (const [k, v] of Object.entries(params)) {
    if (scenario.params?.[k]?.private) secret[k] = v;
    else open[k] = v;
  }
  return { open, secret };
}

/** Encrypts the consumer's private parameters as the plan says, under the consumer's own public key. */
export async function encryptPrivateInputs(plan: Plan, keys: SecretKeyset, secret: ParamValues): Promise<Record<string, string>> {
  if (plan.privateInputs.length === 0) return {};
  const engine = await HeEngine.create(keys.params);
  const pk = engine.usePublicKeyset(keys.publicKeyset);
  try {
    const out: Record<string, string> = {};
    for (const p of plan.privateInputs) {
      const raw = secret[p.param];
      if (raw === undefined) throw new Error(`private parameter ${p.param} has no value`);
      const vec = new Float64Array(engine.slots);
      // The plan sized its headroom for |value| <= maxAbs: a larger value could wrap around on ciphertexts.
      const limit = (p as { maxAbs?: number }).maxAbs ?? Infinity;
      const check = (v: number): number => {
        if (!Number.isFinite(v)) throw new Error(`private parameter ${p.param}: not a finite number`);
        if (Math.abs(v) > limit) throw new Error(`private parameter ${p.param}: values must be within ±${limit} for this plan`);
        return v;
      };
      if (p.layout === 'replicated') {
        const v = check(p.index === null ? Number(raw) : Number((raw as number[])[p.index]));
        vec.fill(v * p.multiplier);
      } else {
        const list = raw as number[];
        (p.slots ?? []).forEach((slot, i) => {
          vec[slot] = check(Number(list[i])) * p.multiplier;
        });
      }
      out[p.name] = Buffer.from(engine.scope(() => engine.save(engine.encrypt(pk, vec)))).toString('base64');
    }
    return out;
  } finally {
    engine.releaseKeys(pk);
    engine.dispose();
  }
}

export async function submitJob(
  client: DataspaceClient,
  keys: SecretKeyset,
  scenario: Scenario,
  req: SubmitRequest,
  opts: { dryRun?: boolean } = {},
): Promise<Record<string, unknown>> {
  const keyset = await publishKeyset(client, keys);
  const { open, secret } = splitParams(scenario, req.params ?? {});
  const body: Record<string, unknown> = { scenario: req.scenario, bindings: req.bindings, keyset, purpose: req.purpose, params: open };
  if (req.version !== undefined) body.version = req.version;
  const hasPrivate = Object.keys(secret).length > 0;
  if (opts.dryRun || hasPrivate) {
    // The plan says which private inputs to encrypt and how; a dry run returns it without running anything.
    const dry = await client.post<{ plan: Plan } & Record<string, unknown>>('jobs?dryRun=true', body);
    if (opts.dryRun) return dry;
    body.privateParams = await encryptPrivateInputs(dry.plan, keys, secret);
  }
  return client.post<Record<string, unknown>>('jobs', body, req.idempotencyKey ? { 'idempotency-key': req.idempotencyKey } : undefined);
}

export async function waitForJob(
  client: DataspaceClient,
  id: string,
  onProgress?: (s: JobStatus) => void,
  pollMs = 250,
  timeoutMs = 3_600_000,
): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.get<JobStatus>(`jobs/${encodeURIComponent(id)}`);
    onProgress?.(s);
    if (TERMINAL.has(s.status)) return s;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${s.status} after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The result document `GET /jobs/:id/result` answers: the encrypted outputs and the plan to decode them with. */
export interface EncryptedResult {
  job: string;
  scenario: string;
  version: number;
  keyset: string;
  plan: Plan;
  meta: ResultMeta | null;
  outputs: Record<string, string>;
}

/** Fetches the encrypted result, decrypts it locally with the secret key and decodes the result document. */
export async function fetchResult(client: DataspaceClient, id: string, keys: SecretKeyset): Promise<ResultDocument> {
  return decryptResult(await client.get<EncryptedResult>(`jobs/${encodeURIComponent(id)}/result`), keys);
}

/**
 * Decrypts a fetched result with the secret key and decodes the result document. `engine`, when given, is one the
 * caller keeps for the plan's parameters (a client decrypting many results creates a SEAL context once); it is
 * left open. Otherwise one is created and disposed of here.
 */
export async function decryptResult(r: EncryptedResult, keys: SecretKeyset, engine?: HeEngine): Promise<ResultDocument> {
  if (r.keyset !== keys.publicKeyset.fingerprint)
    throw new Error(`job ${r.job} was encrypted for keyset ${r.keyset.slice(0, 12)}…, not the one in this key file`);
  const e = engine ?? (await HeEngine.create(r.plan.params));
  try {
    // a keyset SEAL refuses still leaves a locally created engine disposed of
    const sk = e.useSecretKeyset(keys);
    try {
      const decrypted: Record<string, Float64Array> = {};
      for (const [oid, b64] of Object.entries(r.outputs)) {
        decrypted[oid] = e.scope(() => e.decrypt(sk, e.load(new Uint8Array(Buffer.from(b64, 'base64')))));
      }
      const meta: EvaluationMeta = { suppressedGroups: r.meta?.suppressedGroups ?? {}, epsilonSpent: r.meta?.epsilonSpent ?? 0 };
      return decodeResult(r.plan, decrypted, meta, {
        job: r.job,
        version: r.version,
        rows: r.meta?.rows ?? {},
        missingKeys: r.meta?.missingKeys ?? {},
      });
    } finally {
      e.releaseKeys(sk);
    }
  } finally {
    if (!engine) e.dispose();
  }
}
