import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * The content hash a policy's `scenarios` allowlist names a scenario document by: SHA-256 (lowercase hex) of the
 * document's RFC 8785 canonical JSON, so key order and whitespace do not matter. The broker shows it with every
 * registered version (`GET /scenarios/:id`); a provider can compute it from the document it reviewed.
 */
export function scenarioHash(doc: unknown): string {
  const text = canonicalize(doc);
  if (text === undefined) throw new TypeError('scenarioHash: the document has no JSON representation');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Whether a string is a scenario hash as `scenarioHash` writes it (64 lowercase hex digits). */
export const SCENARIO_HASH = /^[0-9a-f]{64}$/;
