/**
 * docs/datasets-and-policies.md is tested: every ```json block is either a dataset document (valid,
 * or refused with the code and path of a preceding `<!-- error: CODE at PATH -->`) or a policy
 * example (`<!-- refusal: CODES -->`: a policy, a request, usage and a clock given to `decide`).
 * Every refusal code of the policy lib has an example and a row in the policy table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decide, REASON_CODES, usagePolicySchema } from '#policy';
import type { UsageRequest, UsageSoFar } from '#policy';
import { validateDatasetDocument } from './document.js';

const ROOT = new URL('../../../../', import.meta.url);
const text = readFileSync(new URL('docs/datasets-and-policies.md', ROOT), 'utf8');

interface Block {
  line: number;
  json: unknown;
  marker: string;
}

function jsonBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
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
    const prev = lines[i - 1]?.trim() ?? '';
    out.push({ line: i + 1, json, marker: prev.startsWith('<!--') ? prev : '' });
    i = end;
  }
  return out;
}

const blocks = jsonBlocks(text);
const refusals = blocks.filter((b) => b.marker.startsWith('<!-- refusal:'));
const documents = blocks.filter((b) => !b.marker.startsWith('<!-- refusal:'));

describe('docs/datasets-and-policies.md', () => {
  it('has dataset documents and policy examples', () => {
    assert.ok(documents.length >= 10 && refusals.length >= 9, `${documents.length} documents, ${refusals.length} policy examples`);
  });

  for (const b of documents) {
    const error = /^<!-- error: ([A-Z_]+) at ?(\S*) -->$/.exec(b.marker);
    if (error) {
      it(`line ${b.line}: the dataset document is refused with ${error[1]} at ${JSON.stringify(error[2])}`, () => {
        const r = validateDatasetDocument(b.json);
        assert.equal(r.ok, false, 'expected a refusal');
        const errors = r.ok ? [] : r.errors;
        assert.ok(
          errors.some((e) => e.code === error[1] && e.path === error[2]),
          JSON.stringify(errors),
        );
      });
    } else {
      it(`line ${b.line}: the dataset document validates`, () => {
        assert.equal(b.marker, '', `unknown marker ${b.marker}`);
        const r = validateDatasetDocument(b.json);
        assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
      });
    }
  }

  for (const b of refusals) {
    const want = /^<!-- refusal: ([A-Z_, ]+|none) -->$/.exec(b.marker)?.[1];
    it(`line ${b.line}: the policy decides ${want}`, () => {
      assert.ok(want, `malformed marker ${b.marker}`);
      const ex = b.json as { policy: unknown; request: UsageRequest; usage: UsageSoFar; now: string };
      const policy = usagePolicySchema.parse(ex.policy);
      const d = decide(policy, ex.request, ex.usage, new Date(ex.now));
      const codes = d.reasons.map((r) => r.code);
      assert.deepEqual(codes, want === 'none' ? [] : want.split(',').map((c) => c.trim()));
      assert.equal(d.allow, codes.length === 0);
    });
  }

  it('shows every refusal code of the policy lib, each in the policy table', () => {
    const shown = new Set(
      refusals.flatMap(
        (b) =>
          /refusal: ([A-Z_, ]+) -->/
            .exec(b.marker)?.[1]
            .split(',')
            .map((c) => c.trim()) ?? [],
      ),
    );
    for (const code of REASON_CODES) {
      assert.ok(shown.has(code), `no example refused with ${code}`);
      assert.match(text, new RegExp(`\\| \`${code}\` \\|`), `${code} is not in the policy table`);
    }
  });

  it('documents every field of the policy schema', () => {
    for (const field of Object.keys(usagePolicySchema.shape)) assert.match(text, new RegExp(`^\\| \`${field}\` \\|`, 'm'), field);
  });
});
