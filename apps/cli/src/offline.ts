/**
 * Offline checks of the CLI (no server): `scenarios validate`, `datasets validate` and `scenarios explain`.
 * Their failures are the error documents the HTTP API returns for the same input (`VALIDATION_FAILED`
 * with every problem and its path; `MALFORMED_JSON` for a file that is not JSON).
 */
import { readFileSync } from 'node:fs';
import { validateDatasetDocument } from '#dataset';
import {
  type ParamValues,
  type Plan,
  type Scenario,
  compilePlan,
  costEstimate,
  ciphertextBytes,
  validateParams,
  validateScenario,
} from '#scenario';
import { CliError, type ErrorDocument } from './output.js';

/** Rows assumed per role when `--rows` does not give them. */
export const DEFAULT_EXPLAIN_ROWS = 10_000;

interface Problem {
  path: string;
  code: string;
  message: string;
}

/** Reads a JSON file; a missing or unparsable file fails as the API fails an unparsable body. */
export function readJsonDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const message = `cannot read ${file}`;
    throw new CliError(`${message}: ${(e as Error).message}`, 1, { error: 'NOT_FOUND', message, details: [] });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file} is not valid JSON: ${(e as Error).message}`, 1, {
      error: 'MALFORMED_JSON',
      message: `${file} is not valid JSON`,
      details: [{ path: '', code: 'malformed_json', message: (e as Error).message }],
    });
  }
}

/** A refusal listing every problem: each on its own line (the CLI prints the first line of a message last). */
function invalid(message: string, problems: Problem[]): CliError {
  const document: ErrorDocument = { error: 'VALIDATION_FAILED', message, details: problems };
  for (const p of problems) process.stderr.write(`${p.path || '(document)'}: ${p.code}: ${p.message}\n`);
  return new CliError(document.message, 1, document);
}

/** A scenario document checked as the registry checks it: the scenario, or the API's error document. */
export function checkScenario(doc: unknown): { ok: true; scenario: Scenario } | { ok: false; document: ErrorDocument } {
  const v = validateScenario(doc);
  if (v.ok) return v;
  const details = v.errors.map((e) => ({ path: e.path, code: e.code, message: e.message }));
  const message = `invalid scenario document: ${details.length} problem(s)`;
  return { ok: false, document: { error: 'VALIDATION_FAILED', message, details } };
}

/** A dataset document checked as the provider checks it; paths as the API gives them (`$.columns.m3.min`). */
export function checkDataset(doc: unknown): { ok: true; name: string; columns: string[] } | { ok: false; document: ErrorDocument } {
  const v = validateDatasetDocument(doc);
  if (v.ok) return { ok: true, name: v.dataset.name, columns: Object.keys(v.dataset.columns) };
  const details = v.errors.map((e) => ({ path: e.path ? `$.${e.path}` : '$', code: e.code, message: e.message }));
  const message = `invalid dataset document: ${details.length} problem(s)`;
  return { ok: false, document: { error: 'VALIDATION_FAILED', message, details } };
}

/** `scenarios validate`: the registry's own validation, every problem with its JSON Pointer path. */
export function validateScenarioFile(file: string): Scenario {
  const r = checkScenario(readJsonDocument(file));
  if (!r.ok) throw invalid(r.document.message, r.document.details as Problem[]);
  return r.scenario;
}

/** `datasets validate`: the provider's own validation. */
export function validateDatasetFile(file: string): { name: string; columns: string[] } {
  const r = checkDataset(readJsonDocument(file));
  if (!r.ok) throw invalid(r.document.message, r.document.details as Problem[]);
  return { name: r.name, columns: r.columns };
}

/** `--rows role=N` (repeatable) → rows per role; every role of the scenario gets a count. */
export function parseRows(s: Scenario, list: string[]): { rows: Record<string, number>; assumed: string[] } {
  const given: Record<string, number> = {};
  for (const item of list) {
    const m = /^([^=]+)=(\d+)$/.exec(item);
    const n = m ? Number(m[2]) : Number.NaN;
    if (!m || !Number.isSafeInteger(n) || n < 1) throw new CliError(`--rows ${item}: expected ROLE=N with N a positive integer`, 2);
    if (!Object.hasOwn(s.inputs, m[1]!)) {
      throw new CliError(`--rows ${item}: scenario ${s.id} has no role ${m[1]} (roles: ${Object.keys(s.inputs).join(', ')})`, 2);
    }
    given[m[1]!] = n;
  }
  const rows: Record<string, number> = {};
  const assumed: string[] = [];
  for (const role of Object.keys(s.inputs)) {
    rows[role] = given[role] ?? DEFAULT_EXPLAIN_ROWS;
    if (!(role in given)) assumed.push(role);
  }
  return { rows, assumed };
}

export interface RoleSummary {
  rows: number;
  /** the columns the provider reads (nothing else leaves its store, even encrypted) */
  columns: string[];
  alignOn: string | null;
  /** encrypted vectors the provider computes: one per feature and per count */
  features: number;
  counts: number;
  ciphertexts: number;
  bytes: number;
}

export interface Explanation {
  scenario: string;
  metrics: { name: string; agg: string; released: boolean }[];
  encryption: { scheme: string; polyModulusDegree: number; coeffModulusBits: number[]; scaleBits: number; slots: number };
  depth: number;
  rotationSteps: number;
  relinearisation: boolean;
  epsilonPerDataset: number;
  align: { on: Record<string, string>; keys: number | null; by: 'consumer keys' | 'private set intersection' } | null;
  privateParameters: string[];
  roles: Record<string, RoleSummary>;
  /** roles whose row count was assumed, not given with --rows */
  assumedRows: string[];
  estimate: { ciphertexts: number; bytesMoved: number; rotationKeys: number; estimatedSeconds: number };
}

/**
 * `scenarios explain`: compiles the plan the broker would compile for these row counts and parameters
 * (private parameters stand for ciphertexts the consumer would send) and summarises it.
 */
export function explainScenario(s: Scenario, params: ParamValues, rowList: string[]): Explanation {
  const { rows, assumed } = parseRows(s, rowList);
  const privateNames = Object.entries(s.params ?? {})
    .filter(([, p]) => p.private === true)
    .map(([n]) => n);
  const marked = { ...params, ...Object.fromEntries(privateNames.map((n) => [n, 'encrypted'])) };
  const pv = validateParams(s, marked, { privateValues: 'encrypted' });
  if (!pv.ok) {
    const problems = pv.errors.map((e) => ({
      path: `$.params${e.path}`,
      code: e.code,
      message: `${e.message} (give it with --param NAME=VALUE)`,
    }));
    throw invalid('invalid parameters', problems);
  }
  const values = Object.fromEntries(Object.entries(pv.values).filter(([k]) => !privateNames.includes(k)));
  const compiled = compilePlan(s, values, { rowCounts: rows });
  if (!compiled.ok) {
    const message = 'the scenario cannot be planned with these inputs';
    const document: ErrorDocument = { error: 'PLAN_REFUSED', message, details: compiled.errors };
    throw new CliError(`${document.message}: ${compiled.errors[0]?.message ?? ''}`, 1, document);
  }
  return summarise(s, compiled.plan, rows, assumed);
}

function summarise(s: Scenario, plan: Plan, rows: Record<string, number>, assumed: string[]): Explanation {
  const est = costEstimate(plan, rows);
  const ctBytes = ciphertextBytes(plan);
  const roles: Record<string, RoleSummary> = {};
  for (const [role, work] of Object.entries(plan.roles)) {
    const ciphertexts = est.ciphertextsPerRole[role] ?? 0;
    roles[role] = {
      rows: rows[role] ?? 0,
      columns: [...work.columns],
      alignOn: work.alignOn ?? null,
      features: work.features.length,
      counts: work.counts.length,
      ciphertexts,
      bytes: ciphertexts * ctBytes,
    };
  }
  return {
    scenario: s.id,
    metrics: s.metrics.map((m) => ({ name: m.name, agg: m.agg, released: m.release !== false })),
    encryption: { ...plan.params, slots: plan.slots },
    depth: plan.depth,
    rotationSteps: plan.galoisSteps.length,
    relinearisation: plan.needsRelin,
    epsilonPerDataset: plan.epsilon,
    align: plan.align
      ? { on: plan.align.on, keys: plan.align.keys?.length ?? null, by: plan.align.keys ? 'consumer keys' : 'private set intersection' }
      : null,
    privateParameters: [...new Set(plan.privateInputs.map((p) => p.param))],
    roles,
    assumedRows: assumed,
    estimate: {
      ciphertexts: Object.values(est.ciphertextsPerRole).reduce((a, b) => a + b, 0),
      bytesMoved: est.bytesMoved,
      rotationKeys: est.rotationKeys,
      estimatedSeconds: est.estimatedSeconds,
    },
  };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/** The explanation for people. */
export function explanationText(x: Explanation): string {
  const e = x.encryption;
  const lines = [
    `scenario ${x.scenario}: ${x.metrics.length} metrics (${x.metrics.filter((m) => m.released).length} released)`,
    `  ${x.metrics.map((m) => `${m.name} (${m.agg}${m.released ? '' : ', internal'})`).join(', ')}`,
    `encryption: ${e.scheme.toUpperCase()}, N=${e.polyModulusDegree} (${e.slots} slots), ` +
      `coefficient modulus [${e.coeffModulusBits.join(', ')}] bits, scale 2^${e.scaleBits}`,
    `multiplicative depth: ${x.depth}; rotation steps: ${x.rotationSteps}; relinearisation: ${x.relinearisation ? 'yes' : 'no'}`,
    `epsilon charged to each bound dataset: ${x.epsilonPerDataset}`,
  ];
  if (x.align) {
    const on = Object.entries(x.align.on)
      .map(([r, c]) => `${r}.${c}`)
      .join(' = ');
    lines.push(`alignment: ${on}, by ${x.align.by}${x.align.keys !== null ? ` (${x.align.keys} keys)` : ''}`);
  }
  if (x.privateParameters.length) lines.push(`private parameters (sent encrypted by the consumer): ${x.privateParameters.join(', ')}`);
  lines.push("what each role sends to the broker (encrypted under the consumer's key):");
  for (const [role, r] of Object.entries(x.roles)) {
    const rowsNote = x.assumedRows.includes(role) ? ' (assumed; give --rows ROLE=N)' : '';
    lines.push(
      `  ${role}: ${r.rows.toLocaleString('en-US')} rows${rowsNote}; ` +
        `reads ${r.columns.join(', ')}${r.alignOn ? `, aligned on ${r.alignOn}` : ''}; ` +
        `${r.ciphertexts} ciphertexts (${mb(r.bytes)}) for ${r.features} features and ${r.counts} counts`,
    );
  }
  lines.push(
    `estimate: ${x.estimate.ciphertexts} ciphertexts, ${mb(x.estimate.bytesMoved)} moved, ` +
      `${x.estimate.rotationKeys} rotation keys, ` +
      `about ${x.estimate.estimatedSeconds.toFixed(1)} s of HE work on one core`,
  );
  return lines.join('\n') + '\n';
}
