/**
 * Issue 19: what the documentation and the offline CLI say is what the HTTP API does.
 * - `/schemas/*.schema.json` serves the committed JSON Schemas.
 * - Every malformed scenario of the validator's suite (69) and every error example of
 *   docs/scenario-format.md is refused by `POST /scenarios` with exactly the error document the
 *   CLI's offline check (`dataspace scenarios validate --json`) prints; the valid examples register.
 * - `dataspace scenarios register --json` (a subprocess) prints that same document for a sample of them.
 * - Every dataset error example of docs/datasets-and-policies.md is refused by `POST /datasets` with
 *   the error document of `dataspace datasets validate --json`; the valid one registers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { malformedCases, malformedDocument } from '../libs/scenario/src/validate/malformed.fixture.js';
import { checkDataset, checkScenario } from '../apps/cli/src/offline.js';
import { call, startTestServer } from './support/env.js';
import { runCli } from './support/cli.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const ROOT = new URL('../../', import.meta.url);

/** The ```json blocks of a doc, with the marker line before each. */
function blocks(doc: string): { line: number; json: unknown; marker: string }[] {
  const lines = readFileSync(new URL(doc, ROOT), 'utf8').split('\n');
  const out: { line: number; json: unknown; marker: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```json') continue;
    const end = lines.indexOf('```', i + 1);
    out.push({ line: i + 1, json: JSON.parse(lines.slice(i + 1, end).join('\n')), marker: lines[i - 1]?.trim() ?? '' });
    i = end;
  }
  return out;
}

const scenarioDocs = blocks('docs/scenario-format.md').filter((b) => !(typeof b.json === 'object' && b.json !== null && 'job' in b.json));
const datasetDocs = blocks('docs/datasets-and-policies.md').filter((b) => !b.marker.startsWith('<!-- refusal:'));

describe('the docs, the offline CLI and the HTTP API agree', () => {
  let s: Server;
  let provider: string;

  before(async () => {
    s = await startTestServer({ apps: ['provider', 'broker', 'ledger'] });
    provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'docs' } })).body.token;
  });
  after(async () => s.cleanup());

  for (const name of ['scenario.schema.json', 'dataset.schema.json']) {
    it(`GET /schemas/${name} serves the committed schema, without a token`, async () => {
      const r = await call(s.url, 'GET', `/schemas/${name}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, JSON.parse(readFileSync(new URL(`schemas/${name}`, ROOT), 'utf8')));
    });
  }

  it(`POST /scenarios refuses each of the ${malformedCases.length} malformed documents with the CLI's error document`, async () => {
    assert.equal(malformedCases.length, 69);
    for (const c of malformedCases) {
      const doc = malformedDocument(c);
      const offline = checkScenario(doc);
      assert.ok(!offline.ok, c.name);
      const r = await call(s.url, 'POST', '/scenarios', { token: s.adminToken, body: doc });
      assert.ok(r.status === 400 || r.status === 422, `${c.name}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
      assert.deepEqual(r.body, offline.ok ? null : offline.document, c.name);
      assert.ok(
        (r.body as { details: { path: string; code: string }[] }).details.some((d) => d.path === c.path && d.code === c.code),
        c.name,
      );
    }
  });

  it("dataspace scenarios register --json prints the API's error document on stdout (exit 1), as validate --json does offline", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dataspace-docs-http-'));
    try {
      for (const c of malformedCases.filter((_, i) => i % 17 === 1)) {
        const file = join(dir, 'doc.json');
        writeFileSync(file, JSON.stringify(malformedDocument(c)));
        const http = await call(s.url, 'POST', '/scenarios', { token: s.adminToken, body: malformedDocument(c) });
        const env = { ...process.env, DATASPACE_URL: s.url, DATASPACE_TOKEN: s.adminToken };
        const reg = await runCli(['scenarios', 'register', '--file', file, '--json'], { env });
        assert.equal(reg.code, 1, `${c.name}: ${reg.stderr}`);
        assert.deepEqual(JSON.parse(reg.stdout), http.body, c.name);
        const offline = await runCli(['scenarios', 'validate', '--file', file, '--json'], { env });
        assert.equal(offline.code, 1, c.name);
        assert.deepEqual(JSON.parse(offline.stdout), http.body, c.name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('POST /scenarios refuses every error example of docs/scenario-format.md as the CLI does, and registers the valid ones', async () => {
    let refused = 0;
    let registered = 0;
    for (const b of scenarioDocs) {
      const offline = checkScenario(b.json);
      const r = await call(s.url, 'POST', '/scenarios', { token: s.adminToken, body: b.json });
      if (b.marker.startsWith('<!-- error:')) {
        assert.ok(!offline.ok, `line ${b.line}`);
        assert.ok(r.status === 400 || r.status === 422, `line ${b.line}: HTTP ${r.status}`);
        assert.deepEqual(r.body, offline.ok ? null : offline.document, `line ${b.line}`);
        refused++;
      } else {
        assert.ok(offline.ok, `line ${b.line}`);
        assert.equal(r.status, 201, `line ${b.line}: ${r.text.slice(0, 300)}`);
        registered++;
      }
    }
    assert.ok(refused >= 40 && registered >= 6, `${refused} refused, ${registered} registered`);
  });

  it('POST /datasets refuses every dataset error example of docs/datasets-and-policies.md as the CLI does', async () => {
    let refused = 0;
    for (const b of datasetDocs) {
      const offline = checkDataset(b.json);
      const r = await call(s.url, 'POST', '/datasets', { token: provider, body: b.json });
      if (b.marker.startsWith('<!-- error:')) {
        assert.ok(r.status === 400 || r.status === 422, `line ${b.line}: HTTP ${r.status}`);
        assert.deepEqual(r.body, offline.ok ? null : offline.document, `line ${b.line}`);
        refused++;
      } else {
        assert.ok(offline.ok, `line ${b.line}`);
        assert.equal(r.status, 201, `line ${b.line}: ${r.text.slice(0, 300)}`);
      }
    }
    assert.ok(refused >= 10);
  });
});
