/**
 * The auditor console (/audit) in a real browser: Debian's chromium driven by playwright-core.
 * Signs in, filters to one dataset, opens a job's page and sees every entry's inclusion proof verified
 * in the browser (WebCrypto); checks the remembered checkpoint's consistency on a later visit; runs the
 * page's own verifier over the RFC 6962 test vectors; then tampers with the database and sees the page
 * report the failure. Screenshots go to test-artifacts/.
 *
 * The browser is installed by scripts/ensure-chromium.sh (apt-get); the test is skipped, saying why,
 * only when that is impossible (no apt-get, not root) or playwright-core is not installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import { builtinScenario, datasetDocumentFor, generateRoleRows } from '#scenario';
import { LedgerEntryEntity } from '#persistence';
import { call, startTestServer } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Chromium = typeof import('playwright-core').chromium;

const SCENARIO = 'smart-meter-differential-privacy';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs chromium if needed and loads playwright-core; returns a reason to skip when either is impossible. */
async function prepareBrowser(): Promise<{ chromium: Chromium } | { skip: string }> {
  const r = spawnSync('bash', [join(ROOT, 'scripts/ensure-chromium.sh')], {
    encoding: 'utf8',
    timeout: 15 * 60_000,
    env: { ...process.env, CHROMIUM_PATH: CHROMIUM },
  });
  if (r.status !== 0)
    return { skip: `chromium is not installed and could not be installed: ${(r.stderr || r.error?.message || 'unknown error').trim()}` };
  try {
    const pw = await import('playwright-core');
    return { chromium: pw.chromium };
  } catch {
    return { skip: 'playwright-core is not installed (it is a devDependency: run npm install)' };
  }
}

const prepared = await prepareBrowser();
if ('skip' in prepared) console.log(`# audit browser test skipped: ${prepared.skip}`);

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Listed {
  index: number;
  event: { id: string; type: string; job?: string; datasets?: string[]; data?: Record<string, unknown> };
}

describe('auditor console (/audit) in chromium', { skip: 'skip' in prepared ? prepared.skip : false }, () => {
  let s: Server;
  let dir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let auditor: string;
  let datasetId: string;
  let otherDatasetId: string;
  let jobId: string;
  let consumerId: string;
  const requests: string[] = [];
  const pageErrors: string[] = [];

  async function entries(q: Record<string, string>): Promise<{ total: number; entries: Listed[] }> {
    const r = await call(s.url, 'GET', `/ledger/entries?${new URLSearchParams({ limit: '1000', ...q })}`, { token: auditor });
    assert.equal(r.status, 200, r.text);
    return r.body;
  }

  async function signIn(): Promise<void> {
    await page.goto(`${s.url}/audit`);
    await page.getByLabel('Auditor token').fill(auditor);
    // Keyboard only: Enter submits the sign-in form.
    await page.getByLabel('Auditor token').press('Enter');
    await page.locator('table.events').waitFor({ timeout: 30_000 });
  }

  before(async () => {
    const { chromium } = prepared as { chromium: Chromium };
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-audit-'));
    const add = async (role: string, name: string): Promise<{ id: string; token: string }> => {
      const r = await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role, name } });
      assert.equal(r.status, 201, r.text);
      return r.body;
    };
    auditor = (await add('auditor', 'city audit office')).token;
    const provider = (await add('provider', 'water utility')).token;
    const c = await add('consumer', 'planning bureau');
    const consumer = c.token;
    consumerId = c.id;

    const scenario = builtinScenario(SCENARIO);
    const doc = datasetDocumentFor(SCENARIO, 'utility');
    const reg = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
    assert.equal(reg.status, 201, reg.text);
    datasetId = reg.body.id;
    const other = await call(s.url, 'POST', '/datasets', { token: provider, body: { ...doc, name: 'Meters of the harbour district' } });
    assert.equal(other.status, 201, other.text);
    otherDatasetId = other.body.id;
    const rows = generateRoleRows(SCENARIO, 'utility', { rows: 120, seed: 11 });
    const imp = await call(s.url, 'POST', `/datasets/${datasetId}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);

    // One job through the whole path (real CKKS, Laplace noise so that it spends privacy budget), and one
    // refused by the dataset's policy.
    await generateKeyFile(join(dir, 'c.keys'), keyRequirements(scenario));
    const keys = readKeyFile(join(dir, 'c.keys'));
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const sub = await submitJob(client, keys, scenario, {
      scenario: scenario.id,
      bindings: { utility: datasetId },
      purpose: 'public-service',
    });
    jobId = String(sub.id);
    const st = await waitForJob(client, jobId, undefined, 200, 180_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    await fetchResult(client, jobId, keys);
    const refused = await call(s.url, 'POST', '/jobs', {
      token: consumer,
      body: { scenario: scenario.id, bindings: { utility: datasetId }, keyset: keys.publicKeyset.fingerprint, purpose: 'marketing' },
    });
    assert.equal(refused.status, 403, refused.text);
    // Ledger intake is asynchronous (a queue): wait until the job's last events are in the log.
    await waitFor('the job and refusal events in the ledger', async () => {
      const types = (await entries({ dataset: datasetId })).entries.map((e) => e.event.type);
      return types.includes('result.fetched') && types.includes('job.refused') ? true : undefined;
    });

    const page404 = await call(s.url, 'GET', '/audit');
    assert.equal(page404.status, 200, 'GET /audit: the AuditPageController must be registered in LedgerModule');

    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1366, height: 850 } });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page with a strict same-origin CSP', async () => {
    const res = await fetch(`${s.url}/audit`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    const js = await fetch(`${s.url}/audit/merkle.js`);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${s.url}/audit/..%2Fpackage.json`)).status, 404);
  });

  it("the page's verifier agrees with every RFC 6962 vector (transparency-dev/merkle)", { timeout: 60_000 }, async () => {
    await page.goto(`${s.url}/audit`);
    const vectors = join(ROOT, 'libs/ledger-core/test-vectors/rfc6962');
    const results = await page.evaluate(
      async ({ inclusion, consistency }) => {
        const m = (await import('/audit/merkle.js' as string)) as {
          base64ToBytes(s: string): Uint8Array;
          verifyInclusion(l: Uint8Array, i: bigint, n: bigint, p: Uint8Array[], r: Uint8Array): Promise<boolean>;
          verifyConsistency(a: bigint, b: bigint, p: Uint8Array[], r1: Uint8Array, r2: Uint8Array): Promise<boolean>;
        };
        // Quote the integers first: one case uses 2^64 - 1, which a JS number cannot hold.
        const parse = (text: string, ints: string[]): Record<string, unknown>[] =>
          JSON.parse(text.replace(new RegExp(`("(?:${ints.join('|')})"\\s*:\\s*)(\\d+)`, 'g'), '$1"$2"'));
        const b = (v: unknown): Uint8Array => m.base64ToBytes(v as string);
        const proof = (v: unknown): Uint8Array[] => ((v as string[] | null) ?? []).map(b);
        const out: { file: string; want: boolean; got: boolean }[] = [];
        for (const c of parse(inclusion, ['leafIdx', 'treeSize'])) {
          out.push({
            file: String(c.file),
            want: !c.wantErr,
            got: await m.verifyInclusion(
              b(c.leafHash),
              BigInt(c.leafIdx as string),
              BigInt(c.treeSize as string),
              proof(c.proof),
              b(c.root),
            ),
          });
        }
        for (const c of parse(consistency, ['size1', 'size2'])) {
          out.push({
            file: String(c.file),
            want: !c.wantErr,
            got: await m.verifyConsistency(BigInt(c.size1 as string), BigInt(c.size2 as string), proof(c.proof), b(c.root1), b(c.root2)),
          });
        }
        return out;
      },
      {
        inclusion: readFileSync(join(vectors, 'inclusion.json'), 'utf8'),
        consistency: readFileSync(join(vectors, 'consistency.json'), 'utf8'),
      },
    );
    assert.equal(results.length, 49 + 43);
    assert.ok(results.some((r) => r.want) && results.some((r) => !r.want));
    assert.deepEqual(
      results.filter((r) => r.got !== r.want),
      [],
    );
  });

  it('signs in, filters to one dataset, opens a job and sees its inclusion proofs verified', { timeout: 120_000 }, async () => {
    await signIn();
    await page.getByText('Checkpoint signature verified').first().waitFor();
    assert.match(await page.locator('#checkpoint').innerText(), /First visit/);

    // Paging and the time range (From/To are read as UTC).
    const all = (await entries({})).total;
    await page.getByLabel('Per page').selectOption('25');
    await page.getByText(new RegExp(`^Showing 1–25 of ${all} events, newest first`)).waitFor();
    assert.equal(await page.locator('table.events tbody tr').first().getAttribute('data-index'), String(all - 1));
    await page.getByRole('link', { name: 'Next →' }).click();
    await page.getByText(new RegExp(`^Showing 26–${all} of ${all} events`)).waitFor();
    assert.equal(await page.locator('table.events tbody tr').last().getAttribute('data-index'), '0');
    await page.getByLabel('From (UTC)').fill(new Date(Date.now() + 3_600_000).toISOString().slice(0, 16));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText(/^No events match from /).waitFor();
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByText(/^Showing 1–/).waitFor();

    await page.getByLabel('Dataset').selectOption(datasetId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const expected = (await entries({ dataset: datasetId })).total;
    const otherTotal = (await entries({ dataset: otherDatasetId })).total;
    assert.ok(otherTotal > 0, 'the other dataset has events that the filter must hide');
    await page.getByText(new RegExp(`of ${expected} events \\(dataset`)).waitFor();
    const rows = page.locator('table.events tbody tr');
    assert.equal(await rows.count(), expected);
    const shown = await page
      .locator('table.events tbody tr td:nth-child(4)')
      .evaluateAll((tds) => tds.map((td) => [...td.querySelectorAll('[data-dataset]')].map((a) => a.getAttribute('data-dataset'))));
    assert.ok(
      shown.every((ids) => ids.includes(datasetId)),
      'every row names the filtered dataset',
    );

    await page.locator(`a[data-job="${jobId}"]`).first().click();
    await page.getByRole('heading', { name: new RegExp(`Job ${jobId}`) }).waitFor();
    const verdict = page.locator('.job-verify-summary');
    await verdict.and(page.locator('[data-verify]')).waitFor({ timeout: 60_000 });
    assert.equal(await verdict.getAttribute('data-verify'), 'ok', await verdict.innerText());
    const headings = await page.locator('section.step h3').allInnerTexts();
    for (const step of ['Submitted', 'Inputs encrypted — role utility', 'Evaluated on ciphertexts', 'Released', 'Result fetched']) {
      assert.ok(headings.includes(step), `the job path shows "${step}" (got ${headings.join(', ')})`);
    }
    assert.match(await page.locator('section.step').first().innerText(), /Policy decision: allowed/);
    const blocks = page.locator('section.step .verification');
    assert.equal(await blocks.count(), headings.length);
    assert.deepEqual(new Set(await blocks.evaluateAll((els) => els.map((e) => e.getAttribute('data-verify')))), new Set(['ok']));
    assert.match(await blocks.first().innerText(), /Inclusion proof verified/);
    await page.screenshot({ path: join(ARTIFACTS, 'audit.png'), fullPage: true });

    // Everything the page loaded came from the server's own origin.
    const foreign = requests.filter((u) => !u.startsWith(s.url) && !u.startsWith('data:'));
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
  });

  it('charts: usage per dataset, epsilon and refusals by reason', { timeout: 60_000 }, async () => {
    await page.evaluate('location.hash = "#/charts"');
    await page.getByText(/^Based on \d+ events/).waitFor();
    const figures = page.locator('figure.chart');
    assert.equal(await figures.count(), 3);
    const refusals = figures.filter({ hasText: 'Refusals by reason' });
    assert.match((await refusals.locator('svg').getAttribute('aria-label')) ?? '', /Refusals by reason/);
    await refusals.getByText('Show the numbers as a table').click();
    assert.match(await refusals.locator('table').innerText(), /PURPOSE_NOT_ALLOWED\s+1/);
    // ε per dataset and consumer: what the ledger's job.submitted events charged, against the policy's budget.
    const charged = (await entries({ type: 'job.submitted', dataset: datasetId })).entries.reduce(
      (sum, e) => sum + Number(e.event.data?.epsilon ?? 0),
      0,
    );
    assert.ok(charged > 0, 'the scenario spends privacy budget');
    const budget = figures.filter({ hasText: 'Privacy budget (ε) spent' });
    assert.equal(await budget.locator('svg rect.bar').count(), 1);
    await budget.getByText('Show the numbers as a table').click();
    const registered = {
      data: (await entries({ type: 'dataset.registered', dataset: datasetId })).entries[0]!.event.data as {
        name: string;
        policy: { epsilonBudget: number };
      },
    };
    const cells = (await budget.locator('table tbody tr').first().innerText()).split('\t').map((c) => c.trim());
    assert.deepEqual(cells, [
      `${registered.data.name} · consumer ${consumerId}`,
      String(charged),
      String(registered.data.policy.epsilonBudget),
    ]);
    const usage = figures.filter({ hasText: 'Usage per dataset over time' });
    assert.ok((await usage.locator('svg polyline').count()) >= 2, 'one line per dataset');
  });

  it('on a later visit, checks that the new checkpoint extends the remembered one', { timeout: 60_000 }, async () => {
    // (Scripts run in the page are strings: this file is compiled without the DOM types.)
    const remembered = await page.evaluate<{ size: number } | null>(
      'JSON.parse(localStorage.getItem("dataspace.audit.checkpoint") ?? "null")',
    );
    assert.ok(remembered && remembered.size > 0);
    // The log grows, a new checkpoint is signed, and the auditor comes back.
    await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'late consumer' } });
    await waitFor('the new event', async () => ((await entries({ type: 'participant.added' })).total >= 4 ? true : undefined));
    const cp = await call(s.url, 'POST', '/ledger/checkpoint', { token: auditor });
    assert.ok(cp.body.size > remembered.size);
    await page.reload();
    const banner = page.locator('#checkpoint');
    await banner.filter({ hasText: /Consistent|failed/ }).waitFor();
    assert.match(await banner.innerText(), new RegExp(`Consistent with the checkpoint you saw .*\\(${remembered.size} entries\\)`));

    // A remembered checkpoint that the new one does not extend (a rewritten history) is reported.
    await page.evaluate(`{
      const v = JSON.parse(localStorage.getItem('dataspace.audit.checkpoint'));
      localStorage.setItem('dataspace.audit.checkpoint', JSON.stringify({ ...v, size: v.size - 1, root: btoa(String.fromCharCode(...new Uint8Array(32).fill(7))) }));
    }`);
    await page.reload();
    await banner.filter({ hasText: 'Consistency check failed' }).waitFor();
    assert.match(await banner.innerText(), /consistency with the checkpoint of \d+ entries you saw: .*ROOT_MISMATCH/);
    assert.equal(await banner.getAttribute('role'), 'alert');
    await page.evaluate('localStorage.removeItem("dataspace.audit.checkpoint")');
  });

  it('a checkpoint with a bad signature is refused', { timeout: 60_000 }, async () => {
    await page.route('**/ledger/checkpoint', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { checkpoint: string };
      // Change one character of the signed text (the tree size line).
      body.checkpoint = body.checkpoint.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`);
      await route.fulfill({ response: res, json: body });
    });
    await page.reload();
    await page.getByText('Checkpoint verification failed').waitFor();
    assert.match(await page.locator('#checkpoint').innerText(), /BAD_SIGNATURE/);
    await page.unroute('**/ledger/checkpoint');
  });

  it('after an entry is tampered with in the database, the page shows the verification failure', { timeout: 120_000 }, async () => {
    const submitted = (await entries({ job: jobId })).entries.find((e) => e.event.type === 'job.submitted');
    assert.ok(submitted);
    const repo = s.dataSource.getRepository(LedgerEntryEntity);
    const row = await repo.findOneByOrFail({ idx: submitted.index });
    const forged = row.body.replace('"purpose":"public-service"', '"purpose":"research"');
    assert.notEqual(forged, row.body);
    await s.dataSource
      .createQueryBuilder()
      .update(LedgerEntryEntity)
      .set({ body: forged })
      .where('idx = :i', { i: submitted.index })
      .execute();

    await page.goto(`${s.url}/audit#/job/${jobId}`);
    const verdict = page.locator('.job-verify-summary');
    await verdict.and(page.locator('[data-verify]')).waitFor({ timeout: 60_000 });
    assert.equal(await verdict.getAttribute('data-verify'), 'failed');
    assert.match(await verdict.innerText(), /Verification failed for 1 of \d+ entries/);
    const bad = page.locator(`.verification[data-index="${submitted.index}"]`);
    assert.equal(await bad.getAttribute('data-verify'), 'failed');
    const text = await bad.innerText();
    assert.match(text, /Verification failed/);
    assert.match(text, /recomputed [0-9a-f]{64}, the ledger lists [0-9a-f]{64}/);
    assert.match(text, /differs from the signed root/);
    await page.screenshot({ path: join(ARTIFACTS, 'audit-tampered.png'), fullPage: true });

    // The full-log check finds the same entry.
    await page.evaluate('location.hash = "#/integrity"');
    await page.getByRole('button', { name: 'Verify the whole log' }).click();
    const result = page.locator('[data-verify="failed"]').filter({ hasText: 'does not match its signed checkpoint' });
    await result.waitFor({ timeout: 60_000 });
    assert.match(await result.innerText(), new RegExp(`entry #${submitted.index}: its body does not hash to the listed leaf hash`));
  });
});
