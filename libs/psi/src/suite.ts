/**
 * A PSI suite: how ids are hashed into a group and how a party's secret exponent is applied.
 * Both suites give 32-byte canonical encodings in which equal group elements have equal bytes,
 * so the broker intersects on bytes. Commutativity, (H(x)^a)^b = (H(x)^b)^a, is what the
 * protocol needs (Meadows 1986; Huberman, Franklin, Hogg 1999; DDH in the group, H a random oracle).
 */
export type SuiteName = 'x25519' | 'ristretto255';
export const SUITES: readonly SuiteName[] = ['x25519', 'ristretto255'];

/** One party's secret exponent, bound to a session's domain separation tag. */
export interface Blinder {
  /** Encoding of H(id)^a. */
  hashAndBlind(id: string): Uint8Array;
  /** Encoding of P^a for the encoded element P; `index` only names the point in errors. */
  reblind(encoded: Uint8Array, index: number): Uint8Array;
  /** Drops the secret. */
  destroy(): void;
}

export interface PsiSuite {
  name: SuiteName;
  /** RFC 9380 suite id of the hash-to-group, appended to the domain separation tag. */
  hashSuite: string;
  createBlinder(dst: Uint8Array): Blinder;
  /** H(id) without any key: only for tests that check the broker never sees it. */
  hashUnblinded(id: string, dst: Uint8Array): Uint8Array;
}

/** Length of one encoded element in both suites (RFC 9496 §4.3.2; RFC 7748 §5). */
export const POINT_BYTES = 32;
const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The domain separation tag: application, protocol version, the job's session id and the hash
 * suite (RFC 9380 §3.1: distinct per application and per use). A fresh session id per job makes
 * the blinded values of one job useless in another, even if a key were reused.
 */
export function domainSeparationTag(sessionId: string, suite: PsiSuite): Uint8Array {
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) {
    throw new TypeError('sessionId must be 1..128 characters of A-Z a-z 0-9 . _ : -');
  }
  return new TextEncoder().encode(`DATASPACE-PSI-V1-${suite.name}-${sessionId}-${suite.hashSuite}`);
}
