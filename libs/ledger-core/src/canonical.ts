/**
 * RFC 8785 JSON Canonicalization Scheme: the leaf data of the ledger is the canonical JSON of the
 * event, so any party can re-derive the exact bytes that were hashed from the event's content.
 */
import canonicalize from 'canonicalize';

/** RFC 8785 canonical JSON text of a JSON value; throws for values JSON cannot represent. */
export function canonicalEventString(event: unknown): string {
  if (event === undefined || typeof event === 'function' || typeof event === 'symbol') {
    throw new TypeError(`canonicalEventString: ${typeof event} is not a JSON value`);
  }
  // canonicalize throws for NaN, Infinity, lone surrogates and cycles; JSON.stringify (used
  // inside it) throws for bigint. Both are the right outcome: such an event has no RFC 8785 form.
  const text = canonicalize(event);
  if (text === undefined) throw new TypeError('canonicalEventString: value has no JSON representation');
  return text;
}

/** UTF-8 bytes of the RFC 8785 canonical JSON of `event` — the leaf input of RFC 6962. */
export function canonicalEventBytes(event: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalEventString(event));
}
