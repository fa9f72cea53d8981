// Reading usage events: kinds, one-line summaries and refusal reasons.
import { fmtNumber, shortId } from './dom.js';

export const EVENT_TYPES = [
  'dataset.registered',
  'dataset.imported',
  'scenario.registered',
  'keyset.registered',
  'participant.added',
  'job.submitted',
  'job.refused',
  'job.dry-run',
  'inputs.encrypted',
  'inputs.refused',
  'job.evaluated',
  'job.released',
  'job.failed',
  'job.cancelled',
  'result.fetched',
  'budget.charged',
];

/** Which kind of badge an event type gets (colors are paired with the type text, never alone). */
export function typeKind(type) {
  if (/refused|failed/.test(type)) return 'bad';
  if (/cancelled|dry-run/.test(type)) return 'neutral';
  if (/^job\.|^inputs\.|^result\./.test(type)) return 'job';
  return 'admin';
}

/**
 * Reason codes of a refusal: job.refused carries [{dataset, role, codes[]}] (policy) or [{dataset, code}]
 * (budget), inputs.refused carries [code]; anything else that looks like a code is taken as is.
 */
export function refusalReasons(event) {
  const raw = event?.data?.reasons;
  if (!Array.isArray(raw)) return [];
  const out = [];
  for (const r of raw) {
    if (typeof r === 'string') out.push({ code: r, dataset: event.datasets?.length === 1 ? event.datasets[0] : undefined });
    else if (r && typeof r === 'object') {
      if (Array.isArray(r.codes)) for (const c of r.codes) out.push({ code: String(c), dataset: r.dataset, role: r.role });
      else if (typeof r.code === 'string') out.push({ code: r.code, dataset: r.dataset, role: r.role });
    }
  }
  return out;
}

/** suppressedGroups is a list of groups, or per output a list of groups (or a count): the total number. */
export function countSuppressed(v) {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.values(v).reduce((n, x) => n + countSuppressed(x), 0);
  return 0;
}

function scalar(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'string') return v.length > 40 ? shortId(v) : v;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return `${v.length} item${v.length === 1 ? '' : 's'}`;
  return `{${Object.keys(v).length} fields}`;
}

function pairs(data, skip = []) {
  return Object.entries(data ?? {})
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${k} ${scalar(v)}`)
    .join(', ');
}

/** A short sentence about what the event records, from its decision/reference data. */
export function summary(event, names = new Map()) {
  const d = event.data ?? {};
  const ds = (id) => names.get(id) ?? shortId(id);
  switch (event.type) {
    case 'dataset.registered': {
      const p = d.policy ?? {};
      const bits = [`"${d.name ?? ds(event.datasets?.[0])}"`];
      if (Array.isArray(p.purposes)) bits.push(`purposes ${p.purposes.join(', ')}`);
      if (p.minGroupSize !== undefined) bits.push(`min group ${p.minGroupSize}`);
      if (p.epsilonBudget !== undefined) bits.push(`ε budget ${p.epsilonBudget === null ? 'none' : fmtNumber(p.epsilonBudget)}`);
      return bits.join('; ');
    }
    case 'dataset.imported':
      return `${fmtNumber(d.rows)} rows imported${d.mode ? ` (${d.mode})` : ''}${d.total !== undefined ? `, ${fmtNumber(d.total)} in total` : ''}`;
    case 'scenario.registered':
      return `scenario ${event.scenario ?? ''}${d.version !== undefined ? ` version ${d.version}` : ''}${d.builtin ? ' (built-in)' : ''}`;
    case 'keyset.registered':
      return `keyset ${shortId(d.keyset)}${d.params ? `, ${d.params}` : ''}${d.bytes ? `, ${fmtNumber(d.bytes)} bytes` : ''}`;
    case 'participant.added':
      return `${d.role ?? 'participant'} ${shortId(d.participant)}`;
    case 'job.submitted': {
      const b =
        d.bindings && typeof d.bindings === 'object'
          ? Object.entries(d.bindings)
              .map(([r, id]) => `${r} → ${ds(id)}`)
              .join(', ')
          : '';
      return `accepted by policy; ε ${fmtNumber(d.epsilon ?? 0)}${b ? `; ${b}` : ''}`;
    }
    case 'job.refused':
    case 'inputs.refused': {
      const rs = refusalReasons(event);
      return `refused: ${rs.length ? rs.map((r) => r.code + (r.dataset && event.datasets?.length > 1 ? ` (${ds(r.dataset)})` : '')).join(', ') : 'no reason given'}${d.role ? ` (role ${d.role})` : ''}`;
    }
    case 'job.dry-run': {
      const rs = refusalReasons(event);
      return `dry run: ${d.allow ? 'would be allowed' : `would be refused (${rs.map((r) => r.code).join(', ')})`}`;
    }
    case 'inputs.encrypted':
      return `inputs encrypted${d.role ? ` for role ${d.role}` : ''}${pairs(d, ['role']) ? `; ${pairs(d, ['role'])}` : ''}`;
    case 'job.evaluated':
      return `evaluated on ciphertexts: ${fmtNumber(d.outputs ?? 0)} outputs${d.ms !== undefined ? ` in ${fmtNumber(d.ms)} ms` : ''}`;
    case 'job.released': {
      return `released; ε spent ${fmtNumber(d.epsilonSpent ?? 0)}; ${fmtNumber(countSuppressed(d.suppressedGroups))} groups suppressed (below the minimum group size)`;
    }
    case 'job.failed':
      return `failed${d.code ? `: ${d.code}` : ''}`;
    case 'job.cancelled':
      return 'cancelled';
    case 'result.fetched':
      return `result fetched${d.outputs !== undefined ? ` (${fmtNumber(d.outputs)} outputs)` : ''}`;
    default:
      return pairs(d);
  }
}
