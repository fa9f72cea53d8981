/**
 * `validateScenario`: the one gate every scenario document passes (docs/scenario-format.md).
 * It lists every problem it finds, each with a JSON Pointer path and a code, and never
 * throws, whatever it is given.
 */
import type { Scenario } from '../types.js';
import { isObject, IssueList, show, type ScenarioIssue } from './issues.js';
import type { Ctx } from './context.js';
import { checkAlign, checkInputs, checkParams, checkRelease, checkTop } from './document.js';
import { checkDerivedGrouping, checkMetric, collectMetrics } from './metrics.js';
import { MAX_METRICS, MAX_OUTPUT_VALUES } from './names.js';

export type ScenarioValidation = { ok: true; scenario: Scenario } | { ok: false; errors: ScenarioIssue[] };

function newCtx(): Ctx {
  return {
    issues: new IssueList(),
    roles: new Map(),
    params: new Map(),
    align: null,
    rowLevel: false,
    metrics: new Map(),
    signatures: new Map(),
  };
}

/** Values the scenario releases: each metric's groups (times its bins for a histogram), summed. */
function checkOutputCount(ctx: Ctx, metrics: unknown[]): void {
  let total = 0;
  metrics.forEach((m) => {
    if (!isObject(m) || typeof m.name !== 'string') return;
    const sig = ctx.signatures.get(m.name);
    const groups = sig ? sig.reduce((n, v) => n * v.length, 1) : 1;
    const bins = m.agg === 'histogram' && Array.isArray(m.bins) ? Math.max(1, m.bins.length - 1) : 1;
    total += groups * bins;
  });
  if (total > MAX_OUTPUT_VALUES) {
    ctx.issues.add(
      ['metrics'],
      'too_many_outputs',
      `the metrics release ${total} values (groups summed over metrics); at most ${MAX_OUTPUT_VALUES} are allowed`,
    );
  }
}

/**
 * Validates a parsed JSON document as a scenario. On success returns a deep copy typed as
 * `Scenario` (later changes to `doc` do not reach it); otherwise every problem found.
 */
export function validateScenario(doc: unknown): ScenarioValidation {
  try {
    if (!isObject(doc)) {
      return { ok: false, errors: [{ path: '', code: 'type', message: `a scenario must be a JSON object, not ${show(doc)}` }] };
    }
    const ctx = newCtx();
    checkTop(ctx, doc);
    checkInputs(ctx, doc);
    checkParams(ctx, doc);
    checkAlign(ctx, doc);
    checkRelease(ctx, doc);
    if (Array.isArray(doc.metrics) && doc.metrics.length > MAX_METRICS) {
      // Refused before any metric is looked at: the checks below are linear, but a hostile list need not be read.
      ctx.issues.add(['metrics'], 'too_many_metrics', `${doc.metrics.length} metrics; at most ${MAX_METRICS} are allowed`);
      return { ok: false, errors: ctx.issues.items };
    }
    const metrics = collectMetrics(ctx, doc);
    metrics.forEach((m, i) => {
      if (isObject(m)) checkMetric(ctx, m, i);
    });
    checkDerivedGrouping(ctx);
    if (ctx.issues.size === 0) checkOutputCount(ctx, metrics);
    if (ctx.issues.size > 0) return { ok: false, errors: ctx.issues.items };
    return { ok: true, scenario: JSON.parse(JSON.stringify(doc)) as Scenario };
  } catch (e) {
    // Only non-JSON inputs get here (a cyclic object, a throwing getter, a Proxy).
    const kind = e instanceof Error ? e.name : 'error';
    return { ok: false, errors: [{ path: '', code: 'internal', message: `the document could not be read as JSON (${kind})` }] };
  }
}
