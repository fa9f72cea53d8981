/**
 * HE core per-operation costs against native SEAL (../shared/STACK.md, "The floor"), and the
 * 2-thread pool speed-up: from `runHeBench` (libs/he-core/src/bench.ts) when it exists; otherwise
 * this section measures the operations itself through the public `#he-core` API.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HeEngine, ckksParamsForDepth, type HeParams } from '#he-core';
import type { BenchContext } from './lib/context.js';
import { measureOpCosts, paramsLabel, type OpName } from './lib/he-ops.js';

const SH = 'HE core: per-operation cost vs native SEAL';

/** STACK.md, native SEAL 4.1.2 µs per op, one thread (multiply = multiply + relinearize + rescale). */
const NATIVE: Record<number, Partial<Record<OpName, number>>> = {
  8192: { encrypt: 2667, mul: 317 + 2282 + 546, rotate: 2309, decrypt: 109 },
  16384: { encrypt: 9330, mul: 1300 + 15151 + 2302, rotate: 15658, decrypt: 449 },
};

type HeBenchFn = (o: { quick: boolean }) => Promise<unknown>;

async function findRunHeBench(): Promise<{ run: HeBenchFn; format?: (r: unknown) => string } | null> {
  const core = (await import('#he-core')) as Record<string, unknown>;
  if (typeof core.runHeBench === 'function') {
    return { run: core.runHeBench as HeBenchFn, ...(typeof core.formatHeBench === 'function' ? { format: core.formatHeBench as (r: unknown) => string } : {}) };
  }
  const url = new URL('../libs/he-core/src/bench.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return null;
  const mod = (await import(url.href)) as Record<string, unknown>;
  if (typeof mod.runHeBench !== 'function') return null;
  return { run: mod.runHeBench as HeBenchFn, ...(typeof mod.formatHeBench === 'function' ? { format: mod.formatHeBench as (r: unknown) => string } : {}) };
}

export async function benchHe(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  report.heading(SH);
  const found = await findRunHeBench();
  if (found) {
    const r = await found.run({ quick: ctx.quick });
    if (found.format) {
      const text = found.format(r);
      process.stdout.write(text + '\n');
      report.note(SH, 'runHeBench (libs/he-core) output:\n\n' + text.split('\n').map((l) => '  ' + l).join('\n'));
    } else {
      flatten(ctx, 'runHeBench', r);
    }
    return;
  }
  report.note(SH, 'libs/he-core has no runHeBench yet: per-operation costs measured here through #he-core (HeEngine, one thread)');
  for (const depth of [1, 3]) {
    const params: HeParams = ckksParamsForDepth(depth);
    const engine = await HeEngine.create(params);
    let keys;
    try {
      keys = engine.generateKeyset({ galoisSteps: [1], relin: true });
    } finally {
      engine.dispose();
    }
    const costs = await measureOpCosts(keys, ctx.quick ? 10 : 40);
    const n = params.polyModulusDegree;
    for (const op of ['encrypt', 'decrypt', 'add', 'addPlain', 'mulPlain', 'mul', 'rotate', 'save', 'load'] as OpName[]) {
      const native = NATIVE[n]?.[op];
      report.add({
        section: SH, name: `${paramsLabel(params)}: ${op === 'mul' ? 'multiply + relinearize + rescale' : op === 'mulPlain' ? 'multiply by plaintext (encode + rescale)' : op === 'rotate' ? 'rotate one step' : op}`,
        value: costs[op], unit: 'µs', ...(native ? { note: `native SEAL ${native} µs → ${(costs[op] / native).toFixed(2)}×` } : {}),
      });
    }
  }
}

function flatten(ctx: BenchContext, path: string, v: unknown): void {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') ctx.report.add({ section: SH, name: path, value: typeof v === 'number' ? v : String(v) });
  else if (Array.isArray(v)) v.forEach((x, i) => flatten(ctx, `${path}[${i}]`, x));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) flatten(ctx, `${path}.${k}`, x);
}
