import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { ristretto255_hasher } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { PsiParty, psiSuite } from './party.js';
import { PsiRouter, intersect } from './broker.js';
import { batchFromBase64, batchToBase64, pointAt } from './batch.js';
import { POINT_BYTES, SUITES, domainSeparationTag } from './suite.js';
import type { SuiteName } from './suite.js';
import type { PointBatch } from './batch.js';
import { hashToRistretto255, ristrettoFromUniform, ristrettoScalarMult, xmdSha512 } from './ristretto.js';

const SLOW = process.env.SLOW === '1';

/** Every byte string the broker received (and so could store), in arrival order. */
type Transcript = PointBatch[];

/**
 * Runs the protocol as the apps would: each party talks only to the broker (PsiRouter); every
 * message crosses as base64 text, as over HTTP or a queue; the broker's inbox is recorded.
 */
function runPsi(
  sets: string[][],
  sessionId: string,
  suite: SuiteName,
): { aligned: string[][]; transcript: Transcript; size: number; timings: Record<string, number> } {
  const parties = sets.map(() => new PsiParty(sessionId, { suite }));
  const router = new PsiRouter(sets.length);
  const transcript: Transcript = [];
  const toBroker = (b: PointBatch): PointBatch => {
    const received = batchFromBase64(batchToBase64(b));
    transcript.push(received);
    return received;
  };
  const timings: Record<string, number> = {};
  let t = performance.now();
  parties.forEach((p, i) => router.receiveBlinded(i, toBroker(p.blind(sets[i] as string[]))));
  timings.blind = performance.now() - t;
  t = performance.now();
  for (let round = 1; round < sets.length; round++) {
    // The broker hands out the round's tasks to all parties at once; parties work in parallel.
    const tasks = parties.map((_, j) => router.tasksFor(j));
    tasks.forEach((ts, j) => {
      assert.equal(ts.length, 1, `round ${round}: party ${j} has one set to reblind`);
      assert.equal(ts[0]!.set, (j - round + sets.length) % sets.length, 'ring order');
    });
    const replies = tasks.map((ts, j) =>
      ts.map((task) => ({ set: task.set, points: parties[j]!.reblind(batchFromBase64(batchToBase64(task.points))) })),
    );
    replies.forEach((rs, j) => {
      for (const r of rs) router.receiveReblinded(j, r.set, toBroker(r.points));
    });
  }
  timings.reblind = performance.now() - t;
  assert.equal(router.complete, true);
  t = performance.now();
  const result = router.result();
  timings.intersect = performance.now() - t;
  const aligned = parties.map((p, i) => p.resolve(JSON.parse(JSON.stringify(result.positions[i])) as number[]));
  return { aligned, transcript, size: result.size, timings };
}

/** n ids per party, `shared` of them common to all, the rest distinct per party; each list in its own pseudo-random order. */
function makeSets(parties: number, n: number, shared: number): { sets: string[][]; common: Set<string> } {
  const common = Array.from({ length: shared }, (_, i) => `firm-${String(i).padStart(7, '0')}`);
  const sets = Array.from({ length: parties }, (_, p) => {
    const all = [...common, ...Array.from({ length: n - shared }, (_, i) => `p${p}-only-${i}`)];
    const rank = new Map(all.map((id) => [id, createHash('sha256').update(`${p}/${id}`).digest('hex')]));
    return all.sort((a, b) => (rank.get(a)! < rank.get(b)! ? -1 : 1));
  });
  return { sets, common: new Set(common) };
}

function assertAligned(aligned: string[][], common: Set<string>): void {
  const first = aligned[0] as string[];
  assert.equal(first.length, common.size, 'intersection size');
  assert.deepEqual(new Set(first), common, 'intersection content');
  for (const a of aligned) assert.deepEqual(a, first, 'every party has the same ids in the same order');
}

for (const suite of SUITES) {
  describe(`ECDH-PSI, suite ${suite}`, () => {
    it('aligns two parties exactly (same ids, same order)', () => {
      const { sets, common } = makeSets(2, 400, 200);
      const r = runPsi(sets, 'job-2p-test', suite);
      assert.equal(r.size, 200);
      assertAligned(r.aligned, common);
    });

    it('aligns three parties exactly', () => {
      const { sets, common } = makeSets(3, 120, 50);
      // Ids shared by only two of the three must not be in the intersection.
      sets[0]!.push('pair-01', 'pair-02');
      sets[1]!.push('pair-01', 'pair-12');
      sets[2]!.push('pair-02', 'pair-12');
      const r = runPsi(sets, 'job-3p-test', suite);
      assertAligned(r.aligned, common);
    });

    it('gives an empty intersection for disjoint sets and for different sessions', () => {
      assert.deepEqual(
        runPsi(
          [
            ['a', 'b'],
            ['c', 'd'],
          ],
          's1',
          suite,
        ).aligned,
        [[], []],
      );
      const p1 = new PsiParty('session-A', { suite });
      const p2 = new PsiParty('session-B', { suite });
      const b1 = p1.blind(['x', 'y']);
      const b2 = p2.blind(['x', 'y']);
      assert.equal(intersect([p2.reblind(b1), p1.reblind(b2)]).size, 0, 'a different session id gives unrelated values');
    });

    it('the broker sees no raw id, no plain hash of an id, and no unblinded H(id)', () => {
      const sessionId = 'job-audit-1';
      const { sets } = makeSets(2, 200, 100);
      const { transcript } = runPsi(sets, sessionId, suite);
      const everything = Buffer.concat(transcript);
      assert.equal(transcript.length, 4, 'two blinded sets, two reblinded sets');
      const dst = domainSeparationTag(sessionId, psiSuite(suite));
      const chunks = new Set<string>();
      for (const b of transcript) for (let i = 0; i < b.length / POINT_BYTES; i++) chunks.add(Buffer.from(pointAt(b, i)).toString('hex'));
      assert.equal(chunks.size, 4 * 200 - 100, 'all distinct but the 100 shared ids, equal once fully blinded');
      for (const id of new Set(sets.flat())) {
        assert.equal(everything.indexOf(Buffer.from(id, 'utf8')), -1, 'raw id found in a broker message');
        for (const alg of ['sha256', 'sha512', 'sha1', 'md5']) {
          const h = createHash(alg).update(id).digest();
          assert.equal(everything.indexOf(h.subarray(0, 16)), -1, `${alg}(id) found in a broker message`);
        }
        assert.ok(
          !chunks.has(Buffer.from(psiSuite(suite).hashUnblinded(id, dst)).toString('hex')),
          'unblinded H(id) found in a broker message',
        );
      }
    });

    // ristretto255 is the default suite: the 10^5 x 2 with 5·10^4 shared, exact alignment.
    const N = suite === 'ristretto255' ? 100_000 : SLOW ? 10_000 : 400;
    it(`measures ${N} x 2 ids with ${N / 2} shared`, () => {
      const { sets, common } = makeSets(2, N, N / 2);
      const t0 = performance.now();
      const r = runPsi(sets, `job-bench-${N}`, suite);
      const total = (performance.now() - t0) / 1000;
      assertAligned(r.aligned, common);
      const perId = (total * 1000) / (2 * N);
      console.log(
        `# PSI ${suite} ${N} x 2 (${N / 2} shared): ${total.toFixed(1)} s total; blind ${(r.timings.blind! / 1000).toFixed(1)} s, reblind ${(r.timings.reblind! / 1000).toFixed(1)} s, intersect ${r.timings.intersect!.toFixed(0)} ms; ${perId.toFixed(2)} ms per id per party`,
      );
    });
  });
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

describe('ristretto255 hash-to-group (libsodium WebAssembly) against published vectors and noble', () => {
  it('RFC 9496 Appendix A.3: element derivation from 64 uniform bytes (SHA-512 of each string)', () => {
    const vectors: [string, string][] = [
      ['Ristretto is traditionally a short shot of espresso coffee', '3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46'],
      [
        'made with the normal amount of ground coffee but extracted with',
        'f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b',
      ],
      ['about half the amount of water in the same amount of time', '006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826'],
      ['by using a finer grind.', 'f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a'],
      ['This produces a concentrated shot of coffee per volume.', 'ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179'],
      ['Just pulling a normal shot short will produce a weaker shot', 'e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628'],
      ['and is not a Ristretto as some believe.', '80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065'],
    ];
    for (const [label, expected] of vectors) {
      const uniform = new Uint8Array(createHash('sha512').update(label, 'utf8').digest());
      assert.equal(hex(ristrettoFromUniform(uniform)), expected, label);
      assert.equal(hex(ristretto255_hasher.deriveToCurve!(uniform).toBytes()), expected, `noble: ${label}`);
    }
  });

  it('RFC 9497 Appendix A.1.1 (OPRF ristretto255-SHA512): blind · hash_to_ristretto255(input), then · skSm', () => {
    // DST = "HashToGroup-" || contextString, contextString = "OPRFV1-" || I2OSP(0, 1) || "-ristretto255-SHA512" (RFC 9497 §3.1, §4.1).
    const dst = new Uint8Array(Buffer.concat([Buffer.from('HashToGroup-OPRFV1-'), Buffer.from([0]), Buffer.from('-ristretto255-SHA512')]));
    const blind = unhex('64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706');
    const skSm = unhex('5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e');
    const vectors = [
      {
        input: '00',
        blinded: '609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c',
        evaluated: '7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e',
      },
      {
        input: '5a'.repeat(17),
        blinded: 'da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418',
        evaluated: 'b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25',
      },
    ];
    for (const v of vectors) {
      const blinded = ristrettoScalarMult(blind, hashToRistretto255(unhex(v.input), dst));
      assert.equal(hex(blinded), v.blinded, `BlindedElement for input ${v.input}`);
      assert.equal(hex(ristrettoScalarMult(skSm, blinded)), v.evaluated, `EvaluationElement for input ${v.input}`);
    }
  });

  it('equals noble hashToCurve (the pure-JS implementation used before) with the suite DST', () => {
    const dst = domainSeparationTag('job-vectors', psiSuite('ristretto255'));
    const ids = [
      'a',
      'firm-0000001',
      'ümlaut-ß-名',
      ...Array.from({ length: 300 }, () => randomBytes(1 + (randomBytes(1)[0]! % 40)).toString('base64')),
    ];
    for (const id of ids) {
      const msg = new TextEncoder().encode(id);
      assert.equal(hex(hashToRistretto255(msg, dst)), hex(ristretto255_hasher.hashToCurve(msg, { DST: dst }).toBytes()), id);
      assert.equal(hex(psiSuite('ristretto255').hashUnblinded(id, dst)), hex(ristretto255_hasher.hashToCurve(msg, { DST: dst }).toBytes()));
    }
  });

  it('expand_message_xmd with node:crypto SHA-512 equals it with noble SHA-512 (RFC 9380 §5.3.1, incl. an oversize DST)', () => {
    for (let i = 0; i < 200; i++) {
      const msg = new Uint8Array(randomBytes(i * 3));
      const dst = i % 50 === 49 ? new Uint8Array(randomBytes(300)) : new Uint8Array(randomBytes(1 + (i % 60)));
      const len = [32, 64, 96, 200][i % 4]!;
      assert.equal(hex(expand_message_xmd(msg, dst, len, xmdSha512)), hex(expand_message_xmd(msg, dst, len, sha512)));
    }
  });
});

describe('PSI argument checks', () => {
  it('refuses an unknown suite', () => {
    assert.throws(() => new PsiParty('s', { suite: 'p256' as SuiteName }), /suite must be one of x25519, ristretto255/);
  });
  it('refuses a bad session id', () => {
    assert.throws(() => new PsiParty(''), /sessionId must be 1\.\.128 characters/);
    assert.throws(() => new PsiParty('has space'), /sessionId/);
  });
  it('refuses duplicate and empty ids without echoing them', () => {
    assert.throws(
      () => new PsiParty('s').blind(['secret-1', 'b', 'secret-1']),
      (e: Error) => /ids\[2\] duplicates ids\[0\]/.test(e.message) && !e.message.includes('secret'),
    );
    assert.throws(() => new PsiParty('s').blind(['a', '']), /ids\[1\] must be a non-empty string/);
  });
  it('blinds once per session', () => {
    const p = new PsiParty('s');
    p.blind(['a']);
    assert.throws(() => p.blind(['b']), /once per party/);
  });
  it('refuses malformed ristretto255 points', () => {
    const p = new PsiParty('s', { suite: 'ristretto255' });
    assert.throws(() => p.reblind(new Uint8Array(33)), /not a multiple of 32/);
    assert.throws(() => p.reblind(new Uint8Array(32)), /point 0 is the identity/);
    assert.throws(() => p.reblind(new Uint8Array(32).fill(0xff)), /point 0 is not a canonical ristretto255 encoding/);
    assert.throws(() => batchFromBase64('not base64!'), /base64/);
  });
  it('refuses non-canonical and low-order curve25519 points', () => {
    const p = new PsiParty('s', { suite: 'x25519' });
    const pMinus = (): Uint8Array => {
      const u = new Uint8Array(32).fill(0xff);
      u[31] = 0x7f;
      u[0] = 0xed;
      return u;
    }; // = p
    assert.throws(() => p.reblind(pMinus()), /point 0 is not a canonical curve25519 u-coordinate/);
    const high = new Uint8Array(32);
    high[31] = 0x80;
    high[0] = 9;
    assert.throws(() => p.reblind(high), /not a canonical/);
    const below = pMinus();
    below[0] = 0xeb; // p - 2: canonical, not low-order (p - 1 is)
    assert.equal(p.reblind(below).length, 32);
    assert.throws(() => p.reblind(new Uint8Array(32)), /point 0 is a low-order point/); // u = 0
    const one = new Uint8Array(32);
    one[0] = 1; // u = 1, order 4
    const good = psiSuite('x25519').hashUnblinded('x', domainSeparationTag('s', psiSuite('x25519')));
    assert.throws(() => p.reblind(Uint8Array.from([...good, ...one])), /point 1 is a low-order point/);
    const minusOne = pMinus();
    minusOne[0] = 0xec; // u = p - 1, order 4
    assert.throws(() => p.reblind(minusOne), /point 0 is a low-order point/);
  });
  it('resolve refuses bad positions', () => {
    const p = new PsiParty('s');
    p.blind(['a', 'b']);
    assert.throws(() => p.resolve([2]), /positions\[0\] is not an index/);
    assert.throws(() => p.resolve([1, 1]), /positions\[1\] repeats/);
    assert.deepEqual(new Set(p.resolve([0, 1])), new Set(['a', 'b']));
  });
  it('the router enforces the ring', () => {
    const r = new PsiRouter(3);
    const b = new Uint8Array(64);
    r.receiveBlinded(0, b);
    assert.throws(() => r.receiveBlinded(0, b), /already sent/);
    assert.equal(r.nextHolder(0), 1);
    assert.throws(() => r.receiveReblinded(2, 0, b), /not waiting for party 2/);
    assert.throws(() => r.receiveReblinded(1, 0, new Uint8Array(32)), /had 2 points, party 1 returned 1/);
    r.receiveReblinded(1, 0, b);
    assert.equal(r.nextHolder(0), 2);
    assert.throws(() => r.result(), /not every set/);
    assert.throws(() => new PsiRouter(1), /parties must be an integer >= 2/);
  });
  it('intersect refuses a set with a repeated value', () => {
    const x = new Uint8Array(64).fill(7);
    assert.throws(() => intersect([x, new Uint8Array(32)]), /set 0 holds the same blinded value twice/);
  });
});
