/**
 * `dataspace ledger`: read usage events, save signed checkpoints, and audit the whole log offline.
 *
 * `ledger verify` trusts nothing the server says except through signatures and hashes: it streams every
 * stored entry, recomputes every RFC 6962 leaf and node hash (ledger-core `verifyLog`), checks the latest
 * C2SP checkpoint under a pinned Ed25519 key and that an auditor's saved checkpoint is a prefix of the same
 * history, then spot-checks inclusion and consistency proofs served by the API against the signed roots.
 */
import { randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import type { DataspaceClient } from '#sdk';
import {
  type Checkpoint,
  type LogProblemCode,
  type NodeKey,
  type StoredEntry,
  type StoredTree,
  Frontier,
  ProofError,
  assertConsistency,
  assertInclusion,
  hashFromHex,
  publicKeyFromPem,
  toHex,
  verifyCheckpoint,
  verifyLog,
} from '#ledger-core';
import { api, clientOf } from '../context.js';
import { CliError, printJson, printTable } from '../output.js';

/** What `GET|POST /ledger/checkpoint` return and what `ledger checkpoint --out` saves. */
export interface CheckpointDoc {
  origin: string;
  keyName: string;
  size: number;
  /** The signed note text (C2SP tlog-checkpoint). */
  checkpoint: string;
  /** SPKI PEM of the Ed25519 key that signs checkpoints. */
  publicKey: string;
}

export interface RawEntry {
  index: number;
  body: string;
  leafHash: string;
}

/** Where `verifyLedger` reads the log from: the HTTP API for the CLI, the database directly in benchmarks. */
export interface LedgerSource {
  /** The latest signed checkpoint. */
  checkpoint(): Promise<CheckpointDoc>;
  /** Stored entries with index >= from, in index order, and the leaf count the server claims. */
  raw(from: number, limit: number): Promise<{ size: number; entries: RawEntry[] }>;
  /** Stored complete-subtree hashes (hex, null if absent), at most `maxNodeKeys` per call. */
  nodes(keys: readonly NodeKey[]): Promise<(string | null)[]>;
  inclusion(index: number, size: number): Promise<{ leafHash: string; proof: string[] }>;
  consistency(size1: number, size2: number): Promise<{ proof: string[] }>;
  readonly maxNodeKeys: number;
  readonly pageSize: number;
}

export type VerifyProblemCode = LogProblemCode | 'INCLUSION_PROOF_FAILED' | 'CONSISTENCY_PROOF_FAILED' | 'BAD_RESPONSE';

export type LedgerVerifyOutcome =
  | {
      ok: true;
      size: number;
      root: string;
      checkpointSize: number;
      checkpointRoot: string;
      inclusionChecked: number;
      consistencyChecked: number;
      keyPinned: boolean;
    }
  | { ok: false; code: VerifyProblemCode; problem: string; firstBadIndex?: number; keyPinned: boolean };

export interface VerifyLedgerOptions {
  /** The auditor's saved checkpoint (`ledger checkpoint --out`). Its key is pinned unless `publicKeyPem` is given. */
  since?: CheckpointDoc;
  /** The checkpoint key the auditor trusts (SPKI PEM). */
  publicKeyPem?: string;
  /** Random inclusion/consistency proofs to check besides the first, middle and last entry (default 2). */
  randomSamples?: number;
}

/** An HTTP source over the API (auditor token needed for raw entries and nodes). */
export function httpLedgerSource(client: DataspaceClient): LedgerSource {
  return {
    maxNodeKeys: 4096,
    pageSize: 10_000,
    checkpoint: () => api(client.get<CheckpointDoc>('ledger/checkpoint')),
    raw: (from, limit) => api(client.get<{ size: number; entries: RawEntry[] }>(`ledger/raw?from=${from}&limit=${limit}`)),
    nodes: async (keys) =>
      (
        await api(
          client.post<{ hashes: (string | null)[] }>('ledger/nodes', { keys: keys.map((k) => ({ level: k.level, index: k.index })) }),
        )
      ).hashes,
    inclusion: (index, size) =>
      api(client.get<{ leafHash: string; proof: string[] }>(`ledger/proof/inclusion?index=${index}&size=${size}`)),
    consistency: (from, to) => api(client.get<{ proof: string[] }>(`ledger/proof/consistency?from=${from}&to=${to}`)),
  };
}

/** Reads and checks a checkpoint file written by `ledger checkpoint --out`. */
export function readCheckpointFile(path: string): CheckpointDoc {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read checkpoint file ${path}: ${(e as Error).message}`, 2);
  }
  const d = v as Partial<CheckpointDoc> | null;
  const bad = (field: string): CliError => new CliError(`checkpoint file ${path}: "${field}" is missing or not valid`, 2);
  if (d === null || typeof d !== 'object') throw bad('(document)');
  for (const f of ['origin', 'keyName', 'checkpoint', 'publicKey'] as const) if (typeof d[f] !== 'string' || d[f] === '') throw bad(f);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw bad('size');
  return d as CheckpointDoc;
}

function pemKey(pem: string, what: string): KeyObject {
  try {
    return publicKeyFromPem(pem);
  } catch (e) {
    throw new CliError(`${what}: not an Ed25519 public key (${(e as Error).message})`, 2);
  }
}

class BadResponse extends Error {}

function checkRaw(page: unknown, from: number): { size: number; entries: RawEntry[] } {
  const p = page as { size?: unknown; entries?: unknown } | null;
  if (p === null || typeof p !== 'object' || !Array.isArray(p.entries) || typeof p.size !== 'number')
    throw new BadResponse(`raw entries page at ${from} is malformed`);
  for (const e of p.entries as Partial<RawEntry>[]) {
    if (typeof e?.index !== 'number' || typeof e.body !== 'string' || typeof e.leafHash !== 'string')
      throw new BadResponse(`raw entries page at ${from} holds a malformed entry`);
  }
  return p as { size: number; entries: RawEntry[] };
}

/** A decoded hex hash from the server, or a BadResponse. */
function hexHash(hex: unknown, what: string): Uint8Array {
  try {
    return hashFromHex(hex as string, what);
  } catch {
    throw new BadResponse(`${what} is not a 32-byte hex hash`);
  }
}

/** Distinct sorted picks: first, middle, last and `random` more in [lo, hi). */
function samples(lo: number, hi: number, random: number): number[] {
  if (hi <= lo) return [];
  const s = new Set([lo, lo + Math.floor((hi - lo) / 2), hi - 1]);
  for (let i = 0; i < random; i++) s.add(randomInt(lo, hi));
  return [...s].sort((a, b) => a - b);
}

/**
 * Audits the whole log from `src`; see the module comment. Returns the first problem found, never throws
 * for bad data (only for an unreachable source). The leaf count is fixed when the audit starts, so entries
 * appended while it runs are neither read nor held against the node table.
 */
export async function verifyLedger(src: LedgerSource, opts: VerifyLedgerOptions = {}): Promise<LedgerVerifyOutcome> {
  const keyPinned = opts.publicKeyPem !== undefined || opts.since !== undefined;
  const fail = (code: VerifyProblemCode, problem: string, firstBadIndex?: number): LedgerVerifyOutcome =>
    firstBadIndex === undefined ? { ok: false, code, problem, keyPinned } : { ok: false, code, problem, firstBadIndex, keyPinned };
  try {
    const latest = await src.checkpoint();
    if (typeof latest?.checkpoint !== 'string') throw new BadResponse('the checkpoint response has no note');
    const keyPem = opts.publicKeyPem ?? opts.since?.publicKey ?? latest.publicKey;
    const publicKey = pemKey(keyPem, opts.publicKeyPem !== undefined ? '--key' : opts.since ? 'saved checkpoint key' : 'published key');
    const keyName = opts.since?.keyName ?? latest.keyName;
    const origin = opts.since?.origin;

    // Sizes known before streaming (from the signature-checked latest checkpoint) pick the spot checks.
    let signed: Checkpoint;
    try {
      signed = verifyCheckpoint(latest.checkpoint, publicKey, keyName);
    } catch (e) {
      return fail('BAD_CHECKPOINT', `latest checkpoint: ${(e as Error).message}`);
    }
    const S = signed.size;
    const random = opts.randomSamples ?? 2;
    const inclusionAt = samples(0, S, random);
    const consistencyFrom = samples(1, S, random);
    const wanted = new Set(inclusionAt);
    const rootsWanted = new Set(consistencyFrom);
    const leafAt = new Map<number, Uint8Array>();
    const rootAt = new Map<number, Uint8Array>();

    const first = checkRaw(await src.raw(0, src.pageSize), 0);
    const claimed = first.size;
    // The stored leaf hashes rebuild prefix roots for the consistency spot checks; verifyLog has
    // checked each against its recomputed leaf hash by the time the audit succeeds.
    const tap = Frontier.empty();
    async function* entries(): AsyncGenerator<StoredEntry> {
      let page = first;
      for (;;) {
        const last = page.entries[page.entries.length - 1];
        const more = last !== undefined && last.index + 1 < claimed && page.entries.length > 0;
        const next = more ? src.raw(last.index + 1, src.pageSize) : undefined;
        next?.catch(() => undefined); // awaited below; avoids an unhandled rejection if we stop early
        for (const e of page.entries) {
          if (e.index >= claimed) return;
          if (e.index === tap.size) {
            const h = hexHash(e.leafHash, `stored leaf hash of entry ${e.index}`);
            if (wanted.has(e.index)) leafAt.set(e.index, h);
            tap.append(h);
            if (rootsWanted.has(tap.size)) rootAt.set(tap.size, tap.root());
          }
          yield { index: e.index, canonical: e.body, leafHash: e.leafHash };
        }
        if (!next) return;
        page = checkRaw(await next, last!.index + 1);
        if (page.entries.length === 0) return;
      }
    }
    const tree: StoredTree = {
      getLeafCount: async () => claimed,
      getNodes: async (keys) => {
        const out: (Uint8Array | undefined)[] = [];
        for (let i = 0; i < keys.length; i += src.maxNodeKeys) {
          const part = keys.slice(i, i + src.maxNodeKeys);
          const hashes = await src.nodes(part);
          if (!Array.isArray(hashes) || hashes.length !== part.length)
            throw new BadResponse(`nodes: asked ${part.length} hashes, got ${Array.isArray(hashes) ? hashes.length : 'none'}`);
          hashes.forEach((h, j) => out.push(h === null ? undefined : hexHash(h, `stored node ${part[j]!.level}:${part[j]!.index}`)));
        }
        return out;
      },
    };

    const r = await verifyLog({
      entries: entries(),
      checkpoint: latest.checkpoint,
      publicKey,
      keyName,
      tree,
      checkCanonicalForm: true,
      ...(opts.since ? { since: opts.since.checkpoint } : {}),
      ...(origin !== undefined ? { origin } : {}),
    });
    if (!r.ok) return fail(r.code, r.problem, r.firstBadIndex);

    // The proofs an auditor or a participant would be served must verify against the signed roots.
    for (const index of inclusionAt) {
      const leaf = leafAt.get(index);
      if (!leaf) return fail('ENTRY_MISSING', `entry ${index} was not read`, index);
      const p = await src.inclusion(index, S);
      if (typeof p?.leafHash !== 'string' || p.leafHash.toLowerCase() !== toHex(leaf)) {
        return fail('INCLUSION_PROOF_FAILED', `the API serves a different leaf hash for entry ${index} than the one stored`, index);
      }
      try {
        assertInclusion(
          leaf,
          index,
          S,
          (p.proof ?? []).map((h, i) => hexHash(h, `inclusion proof[${i}]`)),
          signed.root,
        );
      } catch (e) {
        if (!(e instanceof ProofError)) throw e;
        return fail('INCLUSION_PROOF_FAILED', `inclusion proof of entry ${index} in ${S} entries does not verify: ${e.message}`, index);
      }
    }
    const pairs: [number, Uint8Array][] = consistencyFrom.map((m) => [m, rootAt.get(m)!]);
    if (opts.since) {
      const older = verifyCheckpoint(opts.since.checkpoint, publicKey, keyName); // verifyLog has accepted it
      pairs.push([older.size, older.root]);
    }
    for (const [m, root1] of pairs) {
      if (m === 0 || m > S) continue;
      const p = await src.consistency(m, S);
      try {
        assertConsistency(
          m,
          S,
          (p.proof ?? []).map((h, i) => hexHash(h, `consistency proof[${i}]`)),
          root1,
          signed.root,
        );
      } catch (e) {
        if (!(e instanceof ProofError)) throw e;
        return fail('CONSISTENCY_PROOF_FAILED', `consistency proof ${m} -> ${S} does not verify against the signed roots: ${e.message}`);
      }
    }
    return {
      ok: true,
      size: r.size,
      root: toHex(r.root),
      checkpointSize: S,
      checkpointRoot: toHex(signed.root),
      inclusionChecked: inclusionAt.length,
      consistencyChecked: pairs.filter(([m]) => m > 0 && m <= S).length,
      keyPinned,
    };
  } catch (e) {
    if (e instanceof BadResponse) return fail('BAD_RESPONSE', e.message);
    throw e;
  }
}

interface EntryRow {
  index: number;
  leafHash: string;
  event: {
    id?: string;
    type?: string;
    at?: string;
    actor?: { id?: string; role?: string };
    job?: string;
    consumer?: string;
    datasets?: string[];
  };
}

function describeCheckpoint(d: CheckpointDoc, cp: Checkpoint): string {
  return `checkpoint ${d.origin} size ${cp.size} root ${toHex(cp.root)}${cp.time ? ` at ${cp.time.toISOString()}` : ''}`;
}

export function registerLedger(program: Command): void {
  const l = program.command('ledger').description('the usage ledger: events, signed checkpoints, offline verification');

  l.command('entries')
    .description('usage events (auditors: all; providers: their datasets; consumers: their jobs)')
    .option('--dataset <id>', 'events about this dataset')
    .option('--job <id>', 'events of this job')
    .option('--consumer <id>', 'events of this consumer')
    .option('--type <type>', 'event type, e.g. job.submitted')
    .option('--from <time>', 'at or after this ISO 8601 time')
    .option('--to <time>', 'at or before this ISO 8601 time')
    .option('--offset <n>', 'skip this many matching events', '0')
    .option('--limit <n>', 'at most this many events (1..1000)', '100')
    .option('--json', 'machine-readable output')
    .action(
      async (
        o: {
          dataset?: string;
          job?: string;
          consumer?: string;
          type?: string;
          from?: string;
          to?: string;
          offset: string;
          limit: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const q = new URLSearchParams();
        for (const k of ['dataset', 'job', 'consumer', 'type', 'from', 'to'] as const) if (o[k] !== undefined) q.set(k, o[k]);
        q.set('offset', o.offset);
        q.set('limit', o.limit);
        const r = await api(clientOf(cmd).get<{ total: number; entries: EntryRow[] }>(`ledger/entries?${q.toString()}`));
        if (o.json) {
          printJson(r);
          return;
        }
        printTable(
          r.entries.map((e) => ({
            index: e.index,
            at: e.event.at,
            type: e.event.type,
            actor: e.event.actor ? `${e.event.actor.role ?? ''}:${e.event.actor.id ?? ''}` : '',
            job: e.event.job,
            consumer: e.event.consumer,
            datasets: (e.event.datasets ?? []).join(' '),
          })),
          ['index', 'at', 'type', 'actor', 'job', 'consumer', 'datasets'],
        );
        const shown = r.entries.length;
        if (r.total > Number(o.offset) + shown)
          process.stderr.write(`${shown} of ${r.total} shown; use --offset ${Number(o.offset) + shown} for more\n`);
      },
    );

  l.command('checkpoint')
    .description('sign a checkpoint of the log now (auditor), or show the latest (--latest); --out saves it to pin the key')
    .option('--latest', 'fetch the latest signed checkpoint instead of signing one now')
    .option('--out <file>', 'save {origin, keyName, size, checkpoint, publicKey} as JSON (for ledger verify --since)')
    .option('--key <pemFile>', 'pinned checkpoint key: refuse a checkpoint not signed by it')
    .option('--json', 'machine-readable output')
    .action(async (o: { latest?: boolean; out?: string; key?: string; json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const d = await api(o.latest ? client.get<CheckpointDoc>('ledger/checkpoint') : client.post<CheckpointDoc>('ledger/checkpoint'));
      const key = o.key !== undefined ? pemKey(readText(o.key, '--key'), `--key ${o.key}`) : pemKey(d.publicKey, 'published key');
      let cp: Checkpoint;
      try {
        cp = verifyCheckpoint(d.checkpoint, key, d.keyName);
      } catch (e) {
        throw new CliError(`the server's checkpoint does not verify${o.key ? ' under the pinned key' : ''}: ${(e as Error).message}`);
      }
      if (o.out) {
        const doc: CheckpointDoc = { origin: d.origin, keyName: d.keyName, size: d.size, checkpoint: d.checkpoint, publicKey: d.publicKey };
        writeFileSync(o.out, JSON.stringify(doc, null, 2) + '\n');
      }
      if (o.json) printJson(d);
      else process.stdout.write(`${describeCheckpoint(d, cp)}${o.out ? `; saved to ${o.out}` : ''}\n`);
    });

  l.command('verify')
    .description('recompute every hash of the stored log, check the latest signed checkpoint and its consistency with a saved one')
    .option('--since <file>', 'a checkpoint saved earlier with ledger checkpoint --out (pins its key)')
    .option('--key <pemFile>', 'the checkpoint key you trust (SPKI PEM)')
    .option('--samples <n>', 'random inclusion/consistency proofs to spot-check besides first, middle and last', '2')
    .option('--json', 'machine-readable output')
    .action(async (o: { since?: string; key?: string; samples: string; json?: boolean }, cmd: Command) => {
      const randomSamples = Number(o.samples);
      if (!Number.isSafeInteger(randomSamples) || randomSamples < 0 || randomSamples > 1000)
        throw new CliError('--samples: expected an integer 0..1000', 2);
      const opts: VerifyLedgerOptions = { randomSamples };
      if (o.since !== undefined) opts.since = readCheckpointFile(o.since);
      if (o.key !== undefined) opts.publicKeyPem = readText(o.key, '--key');
      if (!opts.since && !opts.publicKeyPem) {
        process.stderr.write('warning: the checkpoint key is not pinned (no --key or --since): trusting the key the server publishes\n');
      }
      const r = await verifyLedger(httpLedgerSource(clientOf(cmd)), opts);
      if (o.json) printJson(r);
      if (!r.ok) {
        if (o.json) process.exitCode = 1;
        else
          throw new CliError(
            `ledger verify: ${r.code}${r.firstBadIndex !== undefined ? ` at index ${r.firstBadIndex}` : ''}: ${r.problem}`,
            1,
          );
        return;
      }
      if (!o.json) {
        process.stdout.write(
          `ok: ${r.size} entries verified, root ${r.root}; signed checkpoint size ${r.checkpointSize} root ${r.checkpointRoot}; ` +
            `${r.inclusionChecked} inclusion and ${r.consistencyChecked} consistency proofs verified\n`,
        );
      }
    });
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`${what}: cannot read ${path}: ${(e as Error).message}`, 2);
  }
}
