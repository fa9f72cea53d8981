#!/usr/bin/env node
// Compiles every built-in scenario (docs/scenarios.md) with its default public parameters and prints a
// SHA-256 of each plan's JSON, plus one over all of them: a refactoring of the compiler must leave it unchanged.
//   node scripts/plan-hashes.js [dist dir, default ./dist] [--each]
// Each scenario is compiled three ways: without row counts (how the SDK sizes keysets), with the catalog's
// default row counts, and with 120 rows per role (catalog.spec's run); a refused plan hashes its errors.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const each = args.includes('--each');
const dist = resolve(args.find((a) => !a.startsWith('--')) ?? new URL('../dist/', import.meta.url).pathname);
const lib = await import(pathToFileURL(resolve(dist, 'libs/scenario/src/index.js')).href);

const sha = (text) => createHash('sha256').update(text).digest('hex');
const all = createHash('sha256');
let plans = 0;
for (const s of lib.builtinScenarios()) {
  const roles = Object.keys(s.inputs);
  const contexts = {
    none: {},
    defaults: { rowCounts: lib.defaultRowCounts(s.id) },
    rows120: { rowCounts: Object.fromEntries(roles.map((r) => [r, 120])) },
  };
  for (const [label, ctx] of Object.entries(contexts)) {
    const params = lib.defaultParams(s.id, ctx.rowCounts ?? {});
    const pub = Object.fromEntries(Object.entries(params).filter(([k]) => s.params?.[k]?.private !== true));
    const compiled = lib.compilePlan(s, pub, ctx);
    const text = JSON.stringify(compiled.ok ? compiled.plan : compiled.errors);
    all.update(`${s.id}\u0000${label}\u0000${text}\u0000`);
    plans++;
    if (each) console.log(`${sha(text)}  ${s.id} ${label}${compiled.ok ? '' : ' (refused)'}`);
  }
}
console.log(`${all.digest('hex')}  ${plans} plans`);
