/**
 * Issue 19: the CLI's offline commands, run as a subprocess with no server anywhere.
 * `scenarios validate` and `datasets validate` list every problem with its path and exit 1, and with
 * `--json` print the API's error document (`{error, message, details}`) on stdout, the same codes and
 * paths as the validators the broker and provider run; `scenarios explain` prints the compiled plan
 * (depth, parameters, cost estimate, what each role sends). A server command given `--json` that
 * fails prints its error document too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDatasetDocument } from '#dataset';
import { validateScenario } from '#scenario';
import { freePort, runCli } from './support/cli.js';

const cols = {
  district: { type: 'category', values: ['a', 'b'] },
  kwh: { type: 'number', min: 0, max: 100 },
};

const good = {
  id: 'offline-check',
  title: 'Offline check',
  inputs: {
    op1: { columns: { ...cols, pile: { type: 'id' } } },
    op2: { columns: cols },
  },
  params: { minKwh: { type: 'number', default: 0 }, tariff: { type: 'number-list', private: true } },
  metrics: [
    { name: 'kwh', agg: 'sum', of: ['op1.kwh', 'op2.kwh'], by: 'op1.district' },
    { name: 'busy', agg: 'count', role: 'op1', where: { ge: ['op1.kwh', '$params.minKwh'] }, by: 'op1.district' },
    { name: 'billed', agg: 'dot', of: ['kwh', '$params.tariff'] },
  ],
  release: { minGroupSize: 2 },
};

/** Malformed documents: one problem each, and one with several. */
const malformed: Record<string, unknown> = {
  badId: { ...good, id: 'Offline Check' },
  unknownColumn: { ...good, metrics: [{ name: 'kwh', agg: 'sum', of: 'op1.kwhh' }] },
  notAligned: { ...good, metrics: [{ name: 'p', agg: 'sumProduct', of: ['op1.kwh', 'op2.kwh'] }] },
  several: { ...good, id: 'X', extra: 1, release: { minGroupSize: 0 }, metrics: [{ name: 'm', agg: 'median', of: 'op1.kwh' }] },
};

const dataset = {
  name: 'charging sessions',
  columns: cols,
  policy: {
    consumers: ['*'],
    purposes: ['public-service'],
    aggregations: ['sum', 'count'],
    rowLevel: false,
    minGroupSize: 5,
    epsilonBudget: null,
    expiresAt: null,
  },
};
const badDataset = { ...dataset, columns: { kwh: { type: 'number', min: 9, max: 1 }, 'bad-name': { type: 'id' } }, rows: [] };

let dir: string;
const file = (name: string, v: unknown): string => {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v));
  return p;
};
/** No server may be reached: DATASPACE_URL points at a port nothing listens on. */
let env: NodeJS.ProcessEnv;

interface ErrorDoc {
  error: string;
  message: string;
  details: { path: string; code: string; message: string }[];
}

describe('dataspace offline commands (no server)', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dataspace-offline-'));
    env = { ...process.env, DATASPACE_URL: `http://127.0.0.1:${await freePort()}` };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('scenarios validate accepts a valid document (text and --json)', async () => {
    const f = file('good', good);
    const r = await runCli(['scenarios', 'validate', '--file', f], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /a valid scenario document \(offline-check: 2 roles, 3 metrics\)/);
    const j = await runCli(['scenarios', 'validate', '--file', f, '--json'], { env });
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout), { ok: true, id: 'offline-check', roles: ['op1', 'op2'], metrics: ['kwh', 'busy', 'billed'] });
  });

  for (const [name, doc] of Object.entries(malformed)) {
    it(`scenarios validate --json refuses ${name} with the registry's codes and paths, on stdout, exit 1`, async () => {
      const v = validateScenario(doc);
      assert.ok(!v.ok);
      const want = v.ok ? [] : v.errors;
      const r = await runCli(['scenarios', 'validate', '--file', file(name, doc), '--json'], { env });
      assert.equal(r.code, 1);
      const out = JSON.parse(r.stdout) as ErrorDoc;
      assert.equal(out.error, 'VALIDATION_FAILED');
      assert.equal(out.message, `invalid scenario document: ${want.length} problem(s)`);
      assert.deepEqual(
        out.details,
        want.map((e) => ({ path: e.path, code: e.code, message: e.message })),
      );
    });
  }

  it('scenarios validate (text) lists every problem with its path on stderr, exit 1', async () => {
    const r = await runCli(['scenarios', 'validate', '--file', file('several', malformed.several)], { env });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    for (const want of ['/id: bad_id:', '/extra: unknown_field:', '/release/minGroupSize: bad_value:', '/metrics/0/agg: unknown_agg:']) {
      assert.ok(r.stderr.includes(want), `${want} in ${r.stderr}`);
    }
    assert.match(r.stderr, /dataspace: invalid scenario document: 4 problem\(s\)/);
  });

  it('a file that is not JSON fails as the API fails such a body (MALFORMED_JSON)', async () => {
    const r = await runCli(['scenarios', 'validate', '--file', file('broken', '{"id": '), '--json'], { env });
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stdout) as ErrorDoc).error, 'MALFORMED_JSON');
  });

  it("datasets validate: valid, then every problem with the provider API's paths", async () => {
    const ok = await runCli(['datasets', 'validate', '--file', file('dataset', dataset)], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /a valid dataset document \(charging sessions: 2 columns\)/);
    const v = validateDatasetDocument(badDataset);
    assert.ok(!v.ok);
    const r = await runCli(['datasets', 'validate', '--file', file('bad-dataset', badDataset), '--json'], { env });
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as ErrorDoc;
    assert.equal(out.error, 'VALIDATION_FAILED');
    assert.deepEqual(
      out.details.map((d) => [d.path, d.code]),
      v.ok ? [] : v.errors.map((e) => [e.path ? `$.${e.path}` : '$', e.code]),
    );
    assert.ok(out.details.some((d) => d.path === '$.columns.kwh.min' && d.code === 'MIN_GREATER_THAN_MAX'));
    assert.ok(out.details.length >= 3, JSON.stringify(out.details));
  });

  it('scenarios explain prints depth, parameters, cost and what each role sends', async () => {
    const f = file('good', good);
    const r = await runCli(['scenarios', 'explain', '--file', f, '--rows', 'op1=20000'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^scenario offline-check: 3 metrics \(3 released\)/);
    assert.match(r.stdout, /encryption: CKKS, N=\d+/);
    assert.match(r.stdout, /multiplicative depth: \d+/);
    assert.match(r.stdout, /private parameters \(sent encrypted by the consumer\): tariff/);
    assert.match(r.stdout, /op1: 20,000 rows; reads district, kwh; \d+ ciphertexts/);
    assert.match(r.stdout, /op2: 10,000 rows \(assumed; give --rows ROLE=N\)/);
    assert.match(r.stdout, /estimate: \d+ ciphertexts, [\d.]+ MB moved/);

    const j = await runCli(['scenarios', 'explain', '--file', f, '--rows', 'op1=20000', '--rows', 'op2=5000', '--json'], { env });
    assert.equal(j.code, 0, j.stderr);
    const x = JSON.parse(j.stdout) as {
      depth: number;
      privateParameters: string[];
      assumedRows: string[];
      roles: Record<string, { rows: number; columns: string[]; ciphertexts: number }>;
      estimate: { estimatedSeconds: number; ciphertexts: number };
    };
    assert.ok(x.depth >= 1);
    assert.deepEqual(x.privateParameters, ['tariff']);
    assert.deepEqual(x.assumedRows, []);
    assert.deepEqual(Object.keys(x.roles), ['op1', 'op2']);
    assert.equal(x.roles.op2!.rows, 5000);
    assert.ok(!x.roles.op1!.columns.includes('pile'), 'a column no metric reads is not sent');
    assert.equal(x.estimate.ciphertexts, x.roles.op1!.ciphertexts + x.roles.op2!.ciphertexts);
    assert.ok(x.estimate.estimatedSeconds > 0);
  });

  it('scenarios explain refuses a bad --rows (exit 2) and a missing parameter (exit 1, with its path)', async () => {
    const f = file('good', good);
    const bad = await runCli(['scenarios', 'explain', '--file', f, '--rows', 'op9=10'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no role op9 \(roles: op1, op2\)/);
    const needs = { ...good, params: { ...good.params, minKwh: { type: 'number' } } };
    const r = await runCli(['scenarios', 'explain', '--file', file('needs', needs), '--json'], { env });
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as ErrorDoc;
    assert.equal(out.error, 'VALIDATION_FAILED');
    assert.deepEqual(
      out.details.map((d) => [d.path, d.code]),
      [['$.params/minKwh', 'required']],
    );
  });

  it('a server command with --json prints the error document on stdout when it fails', async () => {
    const r = await runCli(['scenarios', 'list', '--json'], { env });
    assert.equal(r.code, 3);
    const out = JSON.parse(r.stdout) as ErrorDoc;
    assert.equal(out.error, 'UNREACHABLE');
    assert.ok(Array.isArray(out.details));
    assert.match(r.stderr, /^dataspace: UNREACHABLE/);
  });
});
