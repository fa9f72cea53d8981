#!/usr/bin/env node
// Runs every compiled test file with node's built-in test runner.
//   node scripts/test.js [substring filter...]
// Unit specs live next to the code (`*.spec.ts`), end-to-end tests in `test/` (`*.e2e.ts`).
// The end-to-end tests run on the embedded SQLite store, then again on PostgreSQL when
// TEST_POSTGRES_URL is set (CI sets it; each run uses its own schema, so runs cannot collide).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(spec|e2e)\.js$/.test(name)) files.push(p);
  }
}
walk(root);
const selected = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (selected.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}

function run(label, list, env) {
  console.log(`\n# ${label}: ${list.length} files`);
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...list], { stdio: 'inherit', env });
  return r.status ?? 1;
}

const sqliteEnv = { ...process.env };
delete sqliteEnv.DATABASE_URL;
let status = run('SQLite (embedded default)', selected, sqliteEnv);
const pgUrl = process.env.TEST_POSTGRES_URL;
const e2e = selected.filter((f) => f.endsWith('.e2e.js') && !f.includes('no-pg'));
if (pgUrl && e2e.length) {
  status = run('PostgreSQL', e2e, { ...process.env, DATABASE_URL: pgUrl }) || status;
} else if (e2e.length) {
  console.log('\n# PostgreSQL pass skipped: set TEST_POSTGRES_URL=postgres://... to run the end-to-end tests on PostgreSQL too');
}
process.exit(status);
