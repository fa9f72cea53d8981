/**
 * Issue 19: the OpenAPI document of the whole data space (every app in one process) is committed as
 * docs/openapi.json and kept up to date: this test compares it with what `/docs/openapi.json` serves.
 * After changing a route, rewrite it with `npm run build && UPDATE_OPENAPI=1 node --test dist/test/openapi.e2e.js`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { call, startTestServer } from './support/env.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const FILE = new URL('../../docs/openapi.json', import.meta.url);

describe('docs/openapi.json', () => {
  let s: Server;
  before(async () => {
    s = await startTestServer({ apps: ['provider', 'broker', 'ledger', 'worker'] });
  });
  after(async () => s.cleanup());

  it('is the OpenAPI document the server serves (UPDATE_OPENAPI=1 rewrites it)', async () => {
    const r = await call(s.url, 'GET', '/docs/openapi.json');
    assert.equal(r.status, 200);
    const text = JSON.stringify(r.body, null, 2) + '\n';
    if (process.env.UPDATE_OPENAPI === '1') writeFileSync(FILE, text);
    assert.equal(
      readFileSync(FILE, 'utf8'),
      text,
      'docs/openapi.json is stale: rewrite it with UPDATE_OPENAPI=1 (see the header of test/openapi.e2e.ts)',
    );
  });

  it('documents the routes of the README and the schema routes', () => {
    const doc = JSON.parse(readFileSync(FILE, 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.match(doc.openapi, /^3\./);
    const routes = [
      ['post', '/datasets'],
      ['get', '/datasets'],
      ['get', '/datasets/{id}'],
      ['post', '/datasets/{id}/rows'],
      ['post', '/participants'],
      ['post', '/keysets'],
      ['get', '/scenarios'],
      ['post', '/scenarios'],
      ['get', '/scenarios/{id}'],
      ['post', '/jobs'],
      ['get', '/jobs/{id}'],
      ['get', '/jobs/{id}/result'],
      ['get', '/ledger/entries'],
      ['get', '/ledger/checkpoint'],
      ['get', '/ledger/proof/inclusion'],
      ['get', '/ledger/proof/consistency'],
      ['get', '/schemas/scenario.schema.json'],
      ['get', '/schemas/dataset.schema.json'],
    ];
    for (const [method, path] of routes) assert.ok(doc.paths[path!]?.[method!], `${method!.toUpperCase()} ${path} is documented`);
  });
});
