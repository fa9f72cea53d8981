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
  return aggregate(file, top, opts, (n) => label(n));
}

/**
 * Time per project caller: each sample is charged to its nearest frame in the project's own code
 * (dist/apps, dist/libs), so a synchronous SQLite query or a serialisation in a library is named by the
 * service that made it. Samples with no project frame on their stack are left out.
 */
export function hotCallers(
  file: string,
  top: number,
  opts: { windows?: { from: number; to: number }[]; hrOffsetUs?: number } = {},
): HotFunction[] {
  return aggregate(file, top, opts, (n, parent) => {
    for (let c: ProfileNode | undefined = n; c; c = parent.get(c.id)) if (/\/dist\/(apps|libs)\//.test(c.callFrame.url)) return label(c);
    return null;
  });
}

function aggregate(
  file: string,
  top: number,
  opts: { windows?: { from: number; to: number }[]; hrOffsetUs?: number },
  key: (n: ProfileNode, parent: Map<number, ProfileNode>) => string | null,
): HotFunction[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
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
    if (/^\((idle|program)\)/.test(n.callFrame.functionName)) continue;
    const name = key(n, parent);
    if (name === null) continue;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: total ? us / total : 0 }));
}
