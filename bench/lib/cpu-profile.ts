/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof) and names where the time went: self time per function
 * (name, file and line), overall and inside given windows (the event loop stalls the probe recorded).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** µs, process-relative */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  ms: number;
  share: number;
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const file = f.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/dist\//, 'dist/');
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

/**
 * Self time per function, largest first. `windows` (epoch ms) keeps only samples inside them;
 * `hrOffsetUs` (epoch µs − monotonic µs, recorded by the process itself) maps the profile's monotonic
 * timestamps (V8 and process.hrtime share CLOCK_MONOTONIC) to the epoch clock.
 */
export function hotFunctions(
  file: string,
  top: number,
  opts: { windows?: { from: number; to: number }[]; hrOffsetUs?: number } = {},
): HotFunction[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (opts.windows && opts.hrOffsetUs !== undefined) {
      const at = (t + opts.hrOffsetUs) / 1000;
      if (!opts.windows.some((w) => at >= w.from && at <= w.to)) continue;
    }
    const n = byId.get(p.samples[i]!);
    if (!n) continue;
    const name = label(n);
    if (name.startsWith('(idle)') || name.startsWith('(program)')) continue;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: total ? us / total : 0 }));
}
