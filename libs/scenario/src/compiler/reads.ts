/** The reads a decoding makes of the outputs (one place for every walk over a plan's `Read`s). */
import type { Condition, MetricDecoding, Read } from './plan-types.js';

/**
 * Every per-group read of a metric's decoding, with whether its value is rounded to a count. A `rows`
 * decoding reads whole outputs (no per-group reads) and a `ratio` reads other metrics' decodings.
 */
export function decodingReads(d: MetricDecoding): { read: Read; round: boolean }[] {
  switch (d.kind) {
    case 'value':
      return [{ read: d.read, round: d.round }];
    case 'quotient':
      return [
        { read: d.num, round: false },
        { read: d.den, round: false },
      ];
    case 'moments':
      return [d.m1, d.m2, ...(d.count ? [d.count] : [])].map((read) => ({ read, round: false }));
    case 'histogram':
      return d.bins.map((read) => ({ read, round: true }));
    case 'correlation':
      return [d.sa, d.sb, d.saa, d.sbb, d.sab].map((read) => ({ read, round: false }));
    case 'rows':
    case 'ratio':
      return [];
  }
}

/**
 * Every output reaches the consumer as x + conj(x) + fill (circuit.ts, release hygiene): twice the value
 * the circuit computed, so every read's factor is halved. Reads shared between decodings are halved once.
 */
export function halveReads(decodings: Record<string, MetricDecoding>, conditions: Condition[]): void {
  const seen = new Set<Read>();
  const half = (r: Read): void => {
    if (!seen.has(r)) {
      seen.add(r);
      r.factor /= 2;
    }
  };
  for (const d of new Set(Object.values(decodings))) {
    for (const { read } of decodingReads(d)) half(read);
    if (d.kind === 'rows') d.factor /= 2;
  }
  for (const c of conditions) if (c.jointCount) half(c.jointCount);
}
