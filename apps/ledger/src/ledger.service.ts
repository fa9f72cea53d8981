import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { DataSource, type EntityManager, In } from 'typeorm';
import { AppError, type UsageEvent } from '#contracts';
import {
  type NodeKey,
  TreeStoreError,
  canonicalEventString,
  consistencyProof,
  inclusionProof,
  leafHashOfText,
  loadFrontier,
  loadOrCreateSigningKey,
  planAppend,
  publicKeyPem,
  signCheckpoint,
  toHex,
  treeRoot,
} from '#ledger-core';
import { LedgerCheckpointEntity, LedgerEntryEntity, inTransaction } from '#persistence';
import { type AppConfig, CONFIG } from '#platform';
import { SqlTreeStore, insertRows } from './sql-tree-store.js';

export const LEDGER_ORIGIN = 'dataspace.local/usage-ledger';
export const LEDGER_KEY_NAME = 'dataspace-ledger';
/** Most complete-subtree hashes one `nodes` call returns (what `ledger verify` asks per request). */
export const MAX_NODE_KEYS = 4096;

export interface EntryFilter {
  dataset?: string;
  consumer?: string;
  job?: string;
  type?: string;
  purpose?: string;
  from?: string;
  to?: string;
  /** Restricts a provider to the events of its own datasets. */
  datasetsIn?: string[];
  offset: number;
  limit: number;
}

export interface SignedCheckpoint {
  size: number;
  text: string;
}

/** A rejected read of the tree maps to a server error that says what is wrong with the stored log. */
async function readingTree<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof TreeStoreError)
      throw new AppError('INTERNAL', `${what}: the stored ledger is damaged (${e.message}); run dataspace ledger verify`);
    throw e;
  }
}

/**
 * The usage ledger: an append-only RFC 6962 Merkle log of canonical (RFC 8785) events, with signed
 * C2SP checkpoints and inclusion/consistency proofs. Appends are idempotent by event id.
 */
@Injectable()
export class LedgerService implements OnApplicationBootstrap, OnModuleDestroy {
  private key?: { privateKey: KeyObject; publicKey: KeyObject };
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly ds: DataSource,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const k = await loadOrCreateSigningKey(this.cfg.dataDir);
    this.key = { privateKey: k.privateKey, publicKey: k.publicKey };
    // Periodic checkpoints (and on demand via POST /ledger/checkpoint).
    const tick = (): void => {
      this.checkpoint()
        .catch(() => undefined)
        .finally(() => {
          if (this.stopped) return;
          this.timer = setTimeout(tick, 60_000);
          this.timer.unref();
        });
    };
    this.timer = setTimeout(tick, 60_000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  publicKeyPem(): string {
    return publicKeyPem(this.signingKey().publicKey);
  }

  private signingKey(): { privateKey: KeyObject; publicKey: KeyObject } {
    if (!this.key) throw new AppError('NOT_READY', 'the ledger is starting');
    return this.key;
  }

  /** Appends a batch of events (skipping ids already in the log) in one transaction. */
  async append(events: UsageEvent[]): Promise<{ appended: number; size: number }> {
    return inTransaction(this.ds, async (m) => {
      const repo = m.getRepository(LedgerEntryEntity);
      const ids = [...new Set(events.map((e) => e.id))];
      const existing = ids.length ? await repo.find({ select: { eventId: true }, where: { eventId: In(ids) } }) : [];
      const seen = new Set(existing.map((e) => e.eventId));
      const fresh: UsageEvent[] = [];
      for (const e of events)
        if (!seen.has(e.id)) {
          seen.add(e.id);
          fresh.push(e);
        }
      const store = new SqlTreeStore(m);
      const size = await store.getLeafCount();
      if (fresh.length === 0) return { appended: 0, size };
      const bodies = fresh.map((e) => canonicalEventString(e));
      const hashes = bodies.map((b) => leafHashOfText(b));
      const frontier = await readingTree('append', () => loadFrontier(store, size));
      const nodes = planAppend(frontier, hashes);
      const rows = fresh.map((e, i) => [
        size + i,
        e.id,
        e.type,
        e.job ?? null,
        e.consumer ?? null,
        e.datasets?.length ? ` ${e.datasets.join(' ')} ` : '',
        e.at,
        bodies[i]!,
        toHex(hashes[i]!),
      ]);
      await insertRows(
        m,
        'ledger_entries',
        ['idx', 'event_id', 'type', 'job_id', 'consumer_id', 'datasets', 'at', 'body', 'leaf_hash'],
        rows,
      );
      await store.putNodes(nodes, { from: size, to: size + fresh.length });
      return { appended: fresh.length, size: size + fresh.length };
    });
  }

  async size(): Promise<number> {
    return new SqlTreeStore(this.ds.manager).getLeafCount();
  }

  private latestIn(m: EntityManager): Promise<LedgerCheckpointEntity | null> {
    return m.getRepository(LedgerCheckpointEntity).findOne({ where: {}, order: { size: 'DESC' } });
  }

  /**
   * Signs a checkpoint of the current tree (from the stored subtree hashes) unless the latest covers it.
   * Runs in a transaction: on SQLite that queues it behind any append in flight (TypeORM shares one
   * connection, so a read outside would see — and sign — rows an append may still roll back); on
   * PostgreSQL it reads one snapshot. Refuses to sign a log shorter than its latest signed checkpoint:
   * that would publish a second, rolled-back history (a split view).
   */
  async checkpoint(): Promise<SignedCheckpoint> {
    const key = this.signingKey().privateKey;
    return inTransaction(this.ds, async (m) => {
      const store = new SqlTreeStore(m);
      const size = await store.getLeafCount();
      const latest = await this.latestIn(m);
      if (latest && latest.size === size) return { size, text: latest.text };
      if (latest && latest.size > size) {
        throw new AppError(
          'CONFLICT',
          `the ledger holds ${size} entries, fewer than the ${latest.size} of its latest signed checkpoint; refusing to sign a rolled-back log`,
        );
      }
      const root = await readingTree('checkpoint', () => treeRoot(store, size));
      const text = signCheckpoint({ origin: LEDGER_ORIGIN, size, root, time: new Date() }, key, LEDGER_KEY_NAME);
      const repo = m.getRepository(LedgerCheckpointEntity);
      await repo.createQueryBuilder().insert().values({ size, text }).orIgnore().execute();
      // Another process may have signed this size first: publish the stored one, never two for one size.
      const stored = await repo.findOneBy({ size });
      return { size, text: stored?.text ?? text };
    });
  }

  async latestCheckpoint(): Promise<SignedCheckpoint> {
    const latest = await this.latestIn(this.ds.manager);
    return latest ? { size: latest.size, text: latest.text } : this.checkpoint();
  }

  async inclusion(index: number, size: number): Promise<{ index: number; size: number; leafHash: string; proof: string[] }> {
    const total = await this.size();
    if (!(Number.isInteger(index) && Number.isInteger(size) && index >= 0 && index < size && size <= total)) {
      throw new AppError('VALIDATION_FAILED', `need 0 <= index < size <= ${total}`, [
        { path: '$query', message: 'index/size out of range' },
      ]);
    }
    const e = await this.ds.getRepository(LedgerEntryEntity).findOneBy({ idx: index });
    if (!e) throw new AppError('NOT_FOUND', `ledger entry ${index} is not stored`);
    const proof = await readingTree('inclusion proof', () => inclusionProof(new SqlTreeStore(this.ds.manager), index, size));
    return { index, size, leafHash: e.leafHash, proof: proof.map(toHex) };
  }

  async consistency(size1: number, size2: number): Promise<{ size1: number; size2: number; proof: string[] }> {
    const total = await this.size();
    if (!(Number.isInteger(size1) && Number.isInteger(size2) && size1 >= 0 && size1 <= size2 && size2 <= total)) {
      throw new AppError('VALIDATION_FAILED', `need 0 <= from <= to <= ${total}`, [{ path: '$query', message: 'sizes out of range' }]);
    }
    const proof = await readingTree('consistency proof', () => consistencyProof(new SqlTreeStore(this.ds.manager), size1, size2));
    return { size1, size2, proof: proof.map(toHex) };
  }

  /** Stored complete-subtree hashes (hex, null where absent) in the order asked; `ledger verify` compares them. */
  async nodes(keys: readonly NodeKey[]): Promise<(string | null)[]> {
    if (keys.length > MAX_NODE_KEYS) throw new AppError('VALIDATION_FAILED', `at most ${MAX_NODE_KEYS} node keys per request`);
    const hashes = await new SqlTreeStore(this.ds.manager).getNodes(keys);
    return hashes.map((h) => (h === undefined ? null : toHex(h)));
  }

  async entries(f: EntryFilter): Promise<{ total: number; entries: { index: number; leafHash: string; event: unknown }[] }> {
    const qb = this.ds.getRepository(LedgerEntryEntity).createQueryBuilder('e');
    // Exact, case-sensitive substring tests: LIKE would treat `_`/`%` in ids as wildcards and, on SQLite,
    // ignore case — a provider owning "a_b" must not read the events of "a-b" or "A_B".
    const contains =
      this.ds.options.type === 'postgres' ? (p: string) => `strpos(e.datasets, :${p}) > 0` : (p: string) => `instr(e.datasets, :${p}) > 0`;
    if (f.dataset) qb.andWhere(contains('ds'), { ds: ` ${f.dataset} ` });
    if (f.datasetsIn) {
      if (f.datasetsIn.length === 0) qb.andWhere('1 = 0');
      else
        qb.andWhere(
          `(${f.datasetsIn.map((_, i) => contains(`own${i}`)).join(' OR ')})`,
          Object.fromEntries(f.datasetsIn.map((d, i) => [`own${i}`, ` ${d} `])),
        );
    }
    if (f.consumer) qb.andWhere('e.consumer_id = :c', { c: f.consumer });
    if (f.job) qb.andWhere('e.job_id = :j', { j: f.job });
    if (f.type) qb.andWhere('e.type = :t', { t: f.type });
    if (f.purpose)
      qb.andWhere(this.ds.options.type === 'postgres' ? 'strpos(e.body, :p) > 0' : 'instr(e.body, :p) > 0', {
        p: `"purpose":${JSON.stringify(f.purpose)}`,
      });
    // Event times are stored as toISOString() (UTC, "Z"); bounds with an offset are normalised so that
    // the string comparison is a time comparison.
    if (f.from) qb.andWhere('e.at >= :from', { from: new Date(f.from).toISOString() });
    if (f.to) qb.andWhere('e.at <= :to', { to: new Date(f.to).toISOString() });
    const total = await qb.getCount();
    const rows = await qb.orderBy('e.idx', 'ASC').offset(f.offset).limit(f.limit).getMany();
    return { total, entries: rows.map((r) => ({ index: r.idx, leafHash: r.leafHash, event: JSON.parse(r.body) as unknown })) };
  }

  /** Raw stored entries in index order, for full verification (`dataspace ledger verify`). */
  async raw(from: number, limit: number): Promise<{ index: number; body: string; leafHash: string }[]> {
    const rows = await this.ds
      .getRepository(LedgerEntryEntity)
      .createQueryBuilder('e')
      .select(['e.idx', 'e.body', 'e.leafHash'])
      .where('e.idx >= :from', { from })
      .orderBy('e.idx', 'ASC')
      .limit(limit)
      .getMany();
    return rows.map((r) => ({ index: r.idx, body: r.body, leafHash: r.leafHash }));
  }
}
