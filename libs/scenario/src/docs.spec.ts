/**
 * docs/scenario-format.md is tested: every ```json block of it is validated. A block preceded by
 * `<!-- error: CODE at PATH -->` must be refused with that code at that path; a result document
 * (it has a `job` field) must have the result's shape; every other block must validate. Every issue
 * code of the validator has a section, and every `agg` a valid example.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validateScenario } from './validate/index.js';
import type { Agg } from './types.js';

const ROOT = new URL('../../../../', import.meta.url);

export interface DocBlock {
  /** 1-based line of the opening fence */
  line: number;
  json: unknown;
  /** from a preceding `<!-- error: CODE at PATH -->` */
  error?: { code: string; path: string };
}

/** The ```json blocks of a markdown file, each with the error marker of the line before its fence. */
export function jsonBlocks(markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const out: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```json') continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `line ${i + 1}: unclosed json block`);
    let json: unknown;
    try {
      json = JSON.parse(lines.slice(i + 1, end).join('\n'));
    } catch (e) {
      assert.fail(`line ${i + 1}: the block is not JSON (${(e as Error).message})`);
    }
    const marker = /^<!-- error: ([a-z_]+) at ?(\S*) -->$/.exec(lines[i - 1]?.trim() ?? '');
    out.push({ line: i + 1, json, ...(marker ? { error: { code: marker[1], path: marker[2] } } : {}) });
    i = end;
  }
  return out;
}

const text = readFileSync(new URL('docs/scenario-format.md', ROOT), 'utf8');
const blocks = jsonBlocks(text);
const isResult = (j: unknown): boolean => typeof j === 'object' && j !== null && 'job' in j;

/** The issue codes of the validator, read from the union in issues.ts. */
function issueCodes(): string[] {
  const src = readFileSync(new URL('libs/scenario/src/validate/issues.ts', ROOT), 'utf8');
  const union = src.slice(src.indexOf('export type IssueCode'), src.indexOf('export interface ScenarioIssue'));
  return [...union.matchAll(/\| '([a-z_]+)'/g)].map((m) => m[1]);
}

/** Codes whose example cannot be a short JSON block; the spec checks them another way. */
const NO_BLOCK = new Set(['too_many_metrics', 'internal']);

describe('docs/scenario-format.md', () => {
  it('has JSON blocks, error markers only on JSON blocks', () => {
    assert.ok(blocks.length >= 40, `${blocks.length} blocks`);
    const markers = text.split('\n').filter((l) => l.trim().startsWith('<!-- error:')).length;
    assert.equal(markers, blocks.filter((b) => b.error).length, 'every error marker is followed by a json block');
  });

  for (const b of blocks) {
    if (b.error) {
      const { code, path } = b.error;
      it(`line ${b.line}: the error example is refused with ${code} at ${JSON.stringify(path)}`, () => {
        const r = validateScenario(b.json);
        assert.equal(r.ok, false, 'expected a refusal');
        const errors = r.ok ? [] : r.errors;
        assert.ok(
          errors.some((e) => e.code === code && e.path === path),
          JSON.stringify(errors),
        );
      });
    } else if (isResult(b.json)) {
      it(`line ${b.line}: the result example has the result document's fields`, () => {
        const r = b.json as Record<string, unknown>;
        assert.deepEqual(Object.keys(r), ['scenario', 'version', 'job', 'metrics', 'meta']);
        const meta = r.meta as Record<string, unknown>;
        for (const k of ['rows', 'suppressed', 'epsilonSpent', 'scheme', 'polyModulusDegree']) assert.ok(k in meta, k);
      });
    } else {
      it(`line ${b.line}: the example validates`, () => {
        const r = validateScenario(b.json);
        assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors, null, 1));
      });
    }
  }

  it('has a section for every issue code, each with an error example (or a stated reason)', () => {
    const codes = issueCodes();
    assert.ok(codes.length >= 40, `read ${codes.length} codes`);
    const examples = new Set(blocks.flatMap((b) => (b.error ? [b.error.code] : [])));
    for (const code of codes) {
      assert.ok(text.includes(`### \`${code}\``), `no section for ${code}`);
      if (!NO_BLOCK.has(code)) assert.ok(examples.has(code), `no error example for ${code}`);
    }
    for (const code of examples) assert.ok(codes.includes(code), `${code} is not an issue code`);
  });

  it('says the truth about too_many_metrics: 257 metrics are refused at /metrics', () => {
    const doc = {
      id: 't',
      title: 'T',
      inputs: { u: { columns: { x: { type: 'number', min: 0, max: 1 } } } },
      metrics: Array.from({ length: 257 }, (_, i) => ({ name: `n${i}`, agg: 'count', role: 'u' })),
    };
    const r = validateScenario(doc);
    assert.ok(!r.ok && r.errors.some((e) => e.code === 'too_many_metrics' && e.path === '/metrics'));
    assert.ok(validateScenario({ ...doc, metrics: doc.metrics.slice(0, 256) }).ok);
  });

  it('shows a valid example of every agg', () => {
    const aggs = new Set<Agg>();
    for (const b of blocks) {
      if (b.error || isResult(b.json)) continue;
      const r = validateScenario(b.json);
      if (r.ok) for (const m of r.scenario.metrics) aggs.add(m.agg);
    }
    assert.deepEqual([...aggs].sort(), [
      'correlation',
      'count',
      'difference',
      'dot',
      'histogram',
      'mean',
      'ratio',
      'stddev',
      'sum',
      'sumProduct',
      'variance',
      'weightedSum',
    ]);
  });
});
