// RFC 8785 JSON Canonicalization Scheme, as the ledger uses for its leaves (libs/ledger-core canonical.ts,
// via the `canonicalize` package): so the page can check that the event it shows is the stored leaf.

/** Canonical JSON text of a JSON value (RFC 8785 §3.2): sorted keys, ES number and string serialisation. */
export function canonicalJson(value) {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    // §3.2.2.3: ECMAScript Number serialisation; NaN and infinities have no JSON form.
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: NaN and Infinity are not JSON');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    // §3.2.2.2: the ECMAScript JSON string serialisation; lone surrogates are not valid I-JSON (RFC 7493).
    if (/\p{Cs}/u.test(value)) throw new TypeError('canonicalJson: lone surrogate in a string');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    // §3.2.3: properties sorted by their names as arrays of UTF-16 code units (the default sort order).
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${canonicalJson(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: ${typeof value} is not a JSON value`);
}
