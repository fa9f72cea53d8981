/**
 * RFC 4180 CSV for a provider's import (header row = column names; docs/datasets-and-policies.md). Numbers are
 * written with JavaScript's shortest round-trip form, so the server parses back the exact doubles
 * the plaintext reference sees.
 */
import { Readable } from 'node:stream';
import type { Row } from '#scenario';

function field(v: number | string): string {
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Streams `rows` as CSV in chunks of `chunkRows` rows (a million-row import never becomes one string). */
export function csvStream(columns: string[], rows: Iterable<Row>, chunkRows = 2000): Readable {
  if (columns.length === 0) throw new RangeError('csvStream: at least one column is needed');
  function* chunks(): Generator<string> {
    yield columns.map(field).join(',') + '\r\n';
    let buf: string[] = [];
    for (const r of rows) {
      buf.push(
        columns
          .map((c) => {
            const v = r[c];
            if (v === undefined) throw new RangeError(`csvStream: a row has no value for column ${c}`);
            return field(v);
          })
          .join(','),
      );
      if (buf.length >= chunkRows) {
        yield buf.join('\r\n') + '\r\n';
        buf = [];
      }
    }
    if (buf.length) yield buf.join('\r\n') + '\r\n';
  }
  return Readable.from(chunks(), { objectMode: false });
}
