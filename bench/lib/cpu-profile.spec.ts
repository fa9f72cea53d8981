import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hotCallers, hotFunctions } from './cpu-profile.js';

/**
 * root → handler (project code) → query (a library) ; root → (idle) ; root → (garbage collector).
 * Samples every 1,000 µs from t = 10,000 µs: handler, query, query, idle, gc, query.
 */
function profile(): string {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, scriptId: '0', columnNumber: 0 });
  const nodes = [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 4, 5] },
    { id: 2, callFrame: frame('entries', 'file:///w/dist/apps/ledger/src/ledger.service.js', 180), children: [3] },
    { id: 3, callFrame: frame('query', 'file:///w/node_modules/typeorm/driver/Runner.js', 75) },
    { id: 4, callFrame: frame('(idle)', '') },
    { id: 5, callFrame: frame('(garbage collector)', '') },
  ];
  const samples = [2, 3, 3, 4, 5, 3];
  // timeDeltas[i] is the gap before sample i; a sample lasts until the next one
  const timeDeltas = [0, 1000, 1000, 1000, 1000, 1000, 1000];
  const dir = mkdtempSync(join(tmpdir(), 'cpuprof-spec-'));
  const file = join(dir, 'p.cpuprofile');
  writeFileSync(file, JSON.stringify({ nodes, startTime: 10_000, endTime: 16_000, samples, timeDeltas }));
  return file;
}

describe('cpu-profile', () => {
  it('charges each sample its duration as self time, largest first, without idle time', () => {
    const file = profile();
    try {
      const hot = hotFunctions(file, 10);
      assert.deepEqual(
        hot.map((h) => [h.name, h.ms]),
        [
          ['query node_modules/typeorm/driver/Runner.js:76', 3],
          ['entries dist/apps/ledger/src/ledger.service.js:181', 1],
          ['(garbage collector)', 1],
        ],
      );
      assert.equal(hot[0]!.share, 0.6);
      assert.equal(hotFunctions(file, 1).length, 1);
    } finally {
      rmSync(join(file, '..'), { recursive: true, force: true });
    }
  });

  it('names a library sample by its nearest project caller and leaves out samples without one', () => {
    const file = profile();
    try {
      assert.deepEqual(
        hotCallers(file, 10).map((h) => [h.name, h.ms]),
        [['entries dist/apps/ledger/src/ledger.service.js:181', 4]],
      );
    } finally {
      rmSync(join(file, '..'), { recursive: true, force: true });
    }
  });

  it('keeps only the samples inside the windows, on the epoch clock', () => {
    const file = profile();
    try {
      // epoch = monotonic + 1 s: sample times 10..15 ms monotonic are 1,010..1,015 ms epoch
      const hrOffsetUs = 1_000_000;
      const hot = hotFunctions(file, 10, { windows: [{ from: 1011.5, to: 1012.5 }], hrOffsetUs });
      assert.deepEqual(
        hot.map((h) => [h.name, h.ms]),
        [['query node_modules/typeorm/driver/Runner.js:76', 1]],
      );
      assert.deepEqual(hotFunctions(file, 10, { windows: [{ from: 0, to: 1 }], hrOffsetUs }), []);
    } finally {
      rmSync(join(file, '..'), { recursive: true, force: true });
    }
  });
});
