import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * One validated configuration for every app. A bad value stops start-up with one line naming the variable.
 * Secrets (`isSensitive`) are masked whenever the configuration is printed.
 */
const port = z.coerce.number().int().min(0).max(65535);
const schema = z.object({
  DATA_DIR: z.string().min(1).default('./.data'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'must start with postgres:// or sqlite:')
    .optional(),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis://')
    .default('redis://127.0.0.1:6379'),
  /** Prefix of every BullMQ key, so several deployments (or test runs) share one Redis safely. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:-]+$/)
    .default('dataspace'),
  PORT: port.default(8080),
  HOST: z.string().default('127.0.0.1'),
  /** Id of this provider connector; encryption tasks for its datasets arrive on `encrypt.<id>`. */
  CONNECTOR_ID: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/)
    .default('local'),
  /** Where a provider connector deployed apart finds the broker, and its `connector` credential there. */
  BROKER_URL: z.string().url().optional(),
  CONNECTOR_TOKEN: z.string().min(8).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest keyset upload accepted (bytes). */
  MAX_KEYSET_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024 * 1024),
  /** Largest JSON body accepted by a route that does not say otherwise (bytes); parsed only after the token is checked. */
  MAX_JSON_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Largest JSON body of a scenario registration (bytes). */
  MAX_SCENARIO_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
  /** Largest JSON body of a job submission (bytes): private parameters arrive in it as ciphertexts. */
  MAX_JOB_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  /** Largest JSON body on the connector protocol's routes (an upload's commit lists per-group row counts). */
  MAX_CONNECTOR_JSON_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /**
   * Admission control (backpressure): at most this many accepted jobs not yet ended (queued or running) per
   * consumer, and in the whole data space; beyond either, submission answers 429 TOO_MANY_JOBS with Retry-After.
   */
  MAX_ACTIVE_JOBS_PER_CONSUMER: z.coerce.number().int().positive().default(20),
  MAX_ACTIVE_JOBS: z.coerce.number().int().positive().default(500),
  /** The Retry-After (seconds) sent with TOO_MANY_JOBS. */
  ADMISSION_RETRY_SECONDS: z.coerce.number().int().positive().default(5),
  /** Cost ceiling: a job whose plan's estimated HE work (one core) is longer than this many seconds is refused. */
  MAX_JOB_SECONDS: z.coerce.number().positive().default(3600),
  /** Rate limit window (ms) and the requests allowed in it per client address and per bearer credential. */
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).default(60_000),
  RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().positive().default(20_000),
  RATE_LIMIT_PER_CREDENTIAL: z.coerce.number().int().positive().default(10_000),
  /** Largest row import accepted (bytes). */
  MAX_IMPORT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024 * 1024),
  /** Worker threads for HE work in this process (0 = one per core). */
  HE_THREADS: z.coerce.number().int().min(0).max(64).default(0),
  /** How long a worker holds a job before another may take it over after a crash (ms). */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).default(120_000),
  /** On SIGTERM, how long running jobs may take to finish before they are handed back to other workers (ms). */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /** How often accepted jobs missing from the queue are re-queued, and expired results deleted (ms). */
  RECONCILE_MS: z.coerce.number().int().min(200).default(10_000),
  /**
   * How long a completed job's encrypted result is kept for its consumer (ms; default 7 days). After it the
   * result's ciphertexts are deleted (the job, its plan, metadata and ledger events stay) and fetching it answers
   * 410 RESULT_EXPIRED: a deployment's database does not grow with every job it ever ran.
   */
  RESULT_RETENTION_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(7 * 24 * 3600 * 1000),
  /**
   * CPU priority (nice, 0..19) of background work: HE and PSI threads, and the whole of a process that serves only
   * `worker`, so that on a host of its own an API read waits less behind a job for a CPU. 0 (the default) runs
   * everything at the process's priority: on a host shared with other work, lowered workers also yield to it
   * (BENCHMARKS.md, "Load": not shown to help on the shared benchmark machine).
   */
  BACKGROUND_NICE: z.coerce.number().int().min(0).max(19).default(0),
  /** Start a local redis-server when nothing answers on REDIS_URL. */
  REDIS_AUTOSTART: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

export type AppConfig = z.infer<typeof schema> & { dataDir: string };
const SENSITIVE = new Set<keyof AppConfig>(['DATABASE_URL', 'REDIS_URL', 'CONNECTOR_TOKEN']);

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<string, string>> = {}): AppConfig {
  const input: Record<string, string | undefined> = {};
  for (const k of Object.keys(schema.shape)) input[k] = overrides[k] ?? env[k];
  for (const k of Object.keys(input)) if (input[k] === '') input[k] = undefined;
  const r = schema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ConfigError(`invalid configuration: ${String(i.path[0])} ${i.message}`);
  }
  return { ...r.data, dataDir: resolve(r.data.DATA_DIR) };
}

/** The configuration with credentials in URLs masked, for logs. */
export function maskedConfig(cfg: AppConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    out[k] = k === 'CONNECTOR_TOKEN' && v ? '***' : SENSITIVE.has(k as keyof AppConfig) && typeof v === 'string' ? maskUrl(v) : v;
  }
  return out;
}

export function maskUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*)(:[^@/]*)?@/, (_m, user: string) => `//${user ? user + ':***' : '***'}@`);
}
