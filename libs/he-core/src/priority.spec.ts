import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HePool } from './pool.js';
import { setBackgroundNice } from './priority.js';

const linux = process.platform === 'linux';

/** The nice value of each thread of this process (field 19 of /proc/<pid>/task/<tid>/stat, after the command name). */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

test('HE pool threads run at the background nice value; the main thread keeps its own', { skip: !linux && 'Linux only' }, async () => {
  const before = new Set(niceByThread().keys());
  setBackgroundNice(7);
  const pool = await HePool.create({ threads: 2 });
  try {
    // a thread lowers itself first thing: give both a moment to have run their first line
    let fresh: number[] = [];
    for (let i = 0; i < 100; i++) {
      const now = niceByThread();
      fresh = [...now.entries()].filter(([tid, n]) => !before.has(tid) && n === 7).map(([tid]) => tid);
      if (fresh.length >= 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(fresh.length >= 2, `threads at nice 7: ${JSON.stringify([...niceByThread()])}`);
    assert.equal(niceByThread().get(process.pid), 0, 'the main thread is not lowered');
  } finally {
    setBackgroundNice(0);
    await pool.close();
  }
});

test('a background-only process lowers every thread it has', { skip: !linux && 'Linux only' }, () => {
  // in a child: a process cannot raise its priority back
  const priority = fileURLToPath(new URL('./priority.js', import.meta.url));
  const script = `
    const { lowerThisProcess } = await import(${JSON.stringify(priority)});
    const { readdirSync, readFileSync } = await import('node:fs');
    lowerThisProcess(5);
    const n = readdirSync('/proc/self/task').map((t) => { const s = readFileSync('/proc/self/task/' + t + '/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]); });
    process.stdout.write(JSON.stringify(n));`;
  const nices = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as number[];
  assert.ok(nices.length > 1);
  assert.deepEqual(new Set(nices), new Set([5]));
});

test('a nice value outside 0..19 is refused', () => {
  assert.throws(() => setBackgroundNice(20), RangeError);
  assert.throws(() => setBackgroundNice(-1), RangeError);
  assert.throws(() => setBackgroundNice(1.5), RangeError);
});
