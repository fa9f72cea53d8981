import type { Scenario } from './types.js';
import { metricRoles } from './validate/index.js';

/** Aggregations (metric `agg`s) that read each role, directly or through the metrics they combine. */
export function aggregationsByRole(s: Scenario): Record<string, string[]> {
  const byName = new Map(s.metrics.map((m) => [m.name, m]));
  const roles = (name: string, seen = new Set<string>()): string[] => {
    const m = byName.get(name);
    if (!m || seen.has(name)) return [];
    seen.add(name);
    if (m.agg === 'ratio' || m.agg === 'difference' || m.agg === 'dot' || m.agg === 'correlation') {
      return m.of.flatMap((o) => roles(o, seen));
    }
    return metricRoles(m);
  };
  const out: Record<string, Set<string>> = {};
  for (const role of Object.keys(s.inputs)) out[role] = new Set();
  for (const m of s.metrics) for (const r of roles(m.name)) out[r]?.add(m.agg);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}
