/**
 * Ledger benchmark: batched appends per second (canonical JSON + leaf hash + tree nodes + store),
 * inclusion and consistency proof times at `leaves` entries, and the full streaming verification
 * of `leaves` entries (what `dataspace ledger verify` does), all on the in-memory store.
 */
import { performance } from 'node:perf_hooks';
import { canonicalEventString } from './canonical.js';
import { signCheckpoint } from './checkpoint.js';
import { leafHash, toHex } from './hash.js';
import { MerkleLog } from './merkle-log.js';
import { verifyConsistency, verifyInclusion } from './proof-verify.js';
import { generateSigningKey } from './signing-key.js';
import { MemoryTreeStore } from './tree-store.js';
import { verifyLog, type StoredEntry } from './log-verifier.js';

export interface LedgerBenchOptions {
  /** Fewer proof samples (for CI); the tree size is still `leaves`. */
  readonly quick: boolean;
  /** Number of entries to append, prove against and verify. */
  readonly leaves: number;
}

export interface TimingStats {
  readonly samples: number;
  readonly meanMicros: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
}

export interface LedgerBenchResult {
  readonly leaves: number;
  readonly batchSize: number;
  readonly appendSeconds: number;
  /** CPU time of the append phase (user + system): comparable across runs on a busy machine. */
  readonly appendCpuSeconds: number;
  readonly appendsPerSecond: number;
  /** Producing an inclusion proof at `leaves` from stored subtree hashes. */
  readonly inclusionProof: TimingStats;
  /** Verifying one inclusion proof (RFC 9162 §2.1.3.2). */
  readonly inclusionVerify: TimingStats;
  /** Producing a consistency proof from a random older size to `leaves`. */
  readonly consistencyProof: TimingStats;
  readonly consistencyVerify: TimingStats;
  /** Full streaming verification of all entries, node table, checkpoint and saved checkpoint. */
  readonly fullVerifySeconds: number;
  readonly fullVerifyCpuSeconds: number;
  readonly verifiedEntriesPerSecond: number;
}

const BATCH = 1000;
const ORIGIN = 'bench.dataspace/ledger';

/** A typical usage event: references and decisions only. */
function benchEvent(i: number): Record<string, unknown> {
  return {
    id: `evt-${i.toString(16).padStart(12, '0')}`,
    type: i % 5 === 0 ? 'job.refused' : 'job.completed',
    at: new Date(Date.UTC(2025, 5, 1) + i * 1000).toISOString(),
    actor: `consumer-${i % 97}`,
    jobId: `job-${Math.floor(i / 4)}`,
    datasets: [`dataset-${i % 13}`, `dataset-${(i + 5) % 13}`],
    decision: { allowed: i % 5 !== 0, reasons: i % 5 === 0 ? ['PURPOSE_NOT_ALLOWED'] : [] },
  };
}

/**
 * The RFC 8785 text of benchEvent(i) written directly (keys already in sorted order), standing
 * for a body read back from the database; checked against canonicalEventString below.
 */
function benchEventText(i: number): string {
  const refused = i % 5 === 0;
  return (
    `{"actor":"consumer-${i % 97}","at":"${new Date(Date.UTC(2025, 5, 1) + i * 1000).toISOString()}",` +
    `"datasets":["dataset-${i % 13}","dataset-${(i + 5) % 13}"],` +
    `"decision":{"allowed":${!refused},"reasons":[${refused ? '"PURPOSE_NOT_ALLOWED"' : ''}]},` +
    `"id":"evt-${i.toString(16).padStart(12, '0')}","jobId":"job-${Math.floor(i / 4)}",` +
    `"type":"${refused ? 'job.refused' : 'job.completed'}"}`
  );
}

function stats(micros: number[]): TimingStats {
  const sorted = [...micros].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { samples: sorted.length, meanMicros: round(mean), p50Micros: round(at(0.5)), p99Micros: round(at(0.99)) };
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Deterministic pseudo-random indexes so runs are comparable. */
function* indexes(count: number, below: number): Generator<number> {
  let s = 0x2545f491;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    yield s % below;
  }
}

export async function runLedgerBench(opts: LedgerBenchOptions): Promise<LedgerBenchResult> {
  const { quick, leaves } = opts;
  if (!Number.isSafeInteger(leaves) || leaves < 2) throw new RangeError(`runLedgerBench: leaves must be an integer >= 2, got ${leaves}`);
  for (let i = 0; i < 100; i++) {
    if (benchEventText(i) !== canonicalEventString(benchEvent(i))) throw new Error(`runLedgerBench: benchEventText(${i}) is not canonical`);
  }
  const store = new MemoryTreeStore();
  const log = await MerkleLog.open(store);

  // 1. Appends, batched as the ledger consumer does.
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let start = 0; start < leaves; start += BATCH) {
    const end = Math.min(leaves, start + BATCH);
    const hashes: Uint8Array[] = [];
    for (let i = start; i < end; i++) hashes.push(leafHash(Buffer.from(canonicalEventString(benchEvent(i)), 'utf8')));
    await log.append(hashes);
  }
  const appendSeconds = (performance.now() - t0) / 1000;
  const appendCpuSeconds = cpuSeconds(process.cpuUsage(c0));

  // 2. Proofs at full size.
  const samples = quick ? 200 : 2000;
  const root = await log.root();
  const prove: number[] = [];
  const check: number[] = [];
  for (const i of indexes(samples, leaves)) {
    const a = performance.now();
    const proof = await log.inclusionProof(i, leaves);
    const b = performance.now();
    const ok = verifyInclusion(store.getNode({ level: 0, index: i }) as Uint8Array, i, leaves, proof, root);
    const c = performance.now();
    if (!ok) throw new Error(`runLedgerBench: inclusion proof for ${i} did not verify`);
    prove.push((b - a) * 1000);
    check.push((c - b) * 1000);
  }
  const cProve: number[] = [];
  const cCheck: number[] = [];
  for (const size1 of indexes(Math.max(20, samples / 10), leaves)) {
    const root1 = await log.root(size1);
    const a = performance.now();
    const proof = await log.consistencyProof(size1, leaves);
    const b = performance.now();
    const ok = verifyConsistency(size1, leaves, proof, root1, root);
    const c = performance.now();
    if (!ok) throw new Error(`runLedgerBench: consistency proof ${size1} -> ${leaves} did not verify`);
    cProve.push((b - a) * 1000);
    cCheck.push((c - b) * 1000);
  }

  // 3. Full verification from a stream of stored entries (bodies regenerated, as a DB cursor would deliver them).
  const key = generateSigningKey();
  const checkpoint = signCheckpoint({ origin: ORIGIN, size: leaves, root, time: new Date() }, key.privateKey, ORIGIN);
  const half = Math.floor(leaves / 2);
  const since = signCheckpoint({ origin: ORIGIN, size: half, root: await log.root(half) }, key.privateKey, ORIGIN);
  async function* entries(): AsyncGenerator<StoredEntry> {
    for (let index = 0; index < leaves; index++) {
      yield { index, canonical: benchEventText(index), leafHash: toHex(store.getNode({ level: 0, index }) as Uint8Array) };
    }
  }
  // Time spent producing the stream itself is measured and subtracted: it stands for the DB read.
  const g0 = performance.now();
  const gc0 = process.cpuUsage();
  for await (const e of entries()) void e;
  const generateMs = performance.now() - g0;
  const generateCpu = cpuSeconds(process.cpuUsage(gc0));
  const v0 = performance.now();
  const vc0 = process.cpuUsage();
  const result = await verifyLog({ entries: entries(), checkpoint, since, publicKey: key.publicKey, keyName: ORIGIN, tree: store });
  const verifyMs = performance.now() - v0 - generateMs;
  const fullVerifyCpuSeconds = Math.max(cpuSeconds(process.cpuUsage(vc0)) - generateCpu, 0);
  if (!result.ok) throw new Error(`runLedgerBench: verification failed: ${result.problem}`);
  const fullVerifySeconds = Math.max(verifyMs, 0) / 1000;

  return {
    leaves,
    batchSize: BATCH,
    appendSeconds: round(appendSeconds),
    appendCpuSeconds: round(appendCpuSeconds),
    appendsPerSecond: Math.round(leaves / appendSeconds),
    inclusionProof: stats(prove),
    inclusionVerify: stats(check),
    consistencyProof: stats(cProve),
    consistencyVerify: stats(cCheck),
    fullVerifySeconds: round(fullVerifySeconds),
    fullVerifyCpuSeconds: round(fullVerifyCpuSeconds),
    verifiedEntriesPerSecond: Math.round(leaves / Math.max(fullVerifySeconds, 1e-9)),
  };
}

/** Markdown lines for BENCHMARKS.md. */
export function formatLedgerBench(r: LedgerBenchResult): string {
  const t = (s: TimingStats): string => `mean ${s.meanMicros} µs, p50 ${s.p50Micros} µs, p99 ${s.p99Micros} µs (${s.samples} samples)`;
  return [
    `| ledger: appends (canonical JSON + leaf hash + nodes, batches of ${r.batchSize}) | ${r.appendsPerSecond.toLocaleString('en-US')} /s (${r.leaves.toLocaleString('en-US')} in ${r.appendSeconds} s wall, ${r.appendCpuSeconds} s CPU) |`,
    `| ledger: inclusion proof at ${r.leaves.toLocaleString('en-US')} leaves | ${t(r.inclusionProof)} |`,
    `| ledger: inclusion proof verification | ${t(r.inclusionVerify)} |`,
    `| ledger: consistency proof to ${r.leaves.toLocaleString('en-US')} leaves | ${t(r.consistencyProof)} |`,
    `| ledger: full verification of ${r.leaves.toLocaleString('en-US')} entries | ${r.fullVerifySeconds} s wall, ${r.fullVerifyCpuSeconds} s CPU (${r.verifiedEntriesPerSecond.toLocaleString('en-US')} entries/s) |`,
  ].join('\n');
}
