import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse';
import type { Options as CsvOptions } from 'csv-parse';
import type { ProblemCode } from './problems.js';

/** What a reader yields: one parsed record with the file line it starts on, or a problem. */
export type ReaderItem<T> =
  { kind: 'record'; line: number; value: T } | { kind: 'problem'; line: number; code: ProblemCode; message: string; fatal: boolean };

/** A single JSON row larger than this is refused, so one element cannot exhaust memory. */
export const MAX_JSON_ROW_CHARS = 1 << 20;

/** Decodes a byte (or string) stream as UTF-8 without splitting multi-byte characters, dropping a leading BOM. */
export async function* utf8Chunks(input: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of input) {
    let s = typeof chunk === 'string' ? chunk : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    if (first && s.length > 0) {
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      first = false;
    }
    if (s.length > 0) yield s;
  }
  const rest = decoder.end();
  if (rest.length > 0) yield first && rest.charCodeAt(0) === 0xfeff ? rest.slice(1) : rest;
}

/** Line breaks a raw CSV record spans, as csv-parse reports `raw` (a CRLF delimiter appears as its `\r`). */
function breaksIn(raw: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) === 10) n++;
  if (raw.length > 0 && raw.charCodeAt(raw.length - 1) === 13) n++;
  return n;
}

/**
 * CSV records (RFC 4180: quoted fields may hold commas, quotes and line breaks) with the line each
 * starts on, yielded in batches (one per input chunk: a promise per batch, not per record). Blank
 * lines are skipped.
 *
 * Fast path (issue 20): while the file has shown no double quote, a record is exactly one line
 * (LF or CRLF) and its fields are the line split on commas, which is what an RFC 4180 parser
 * makes of quote-free text; lines are cut with `indexOf`/`split`, about 10x csv-parse's cost per
 * record. At the first `"` anywhere in the input, the rest of the file (from the start of the line
 * holding it) goes to csv-parse, which handles quoting and reports malformed files. csv-parse is
 * fed chunk by chunk and its records are taken from `on_record`, so at most one input chunk's
 * records are held at a time, and records parsed before a syntax error are still delivered.
 */
export async function* csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<ReaderItem<string[]>[]> {
  let line = 1;
  let rest = '';
  let quoted = false;
  const it = chunks[Symbol.asyncIterator]();
  try {
    // Quote-free fast path.
    for (;;) {
      const n = await it.next();
      if (n.done) break;
      const text = rest + n.value;
      const q = text.indexOf('"');
      const upto = q === -1 ? text.length : text.lastIndexOf('\n', q) + 1;
      const out: ReaderItem<string[]>[] = [];
      let from = 0;
      for (;;) {
        const nl = text.indexOf('\n', from);
        if (nl === -1 || nl >= upto) break;
        const end = nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (end > from) out.push({ kind: 'record', line, value: text.slice(from, end).split(',') });
        line++;
        from = nl + 1;
      }
      if (out.length > 0) yield out;
      rest = text.slice(from);
      if (q !== -1) {
        quoted = true;
        break;
      }
    }
    if (!quoted) {
      // The last line, without a line break.
      const end = rest.length > 0 && rest.charCodeAt(rest.length - 1) === 13 ? rest.length - 1 : rest.length;
      if (end > 0) yield [{ kind: 'record', line, value: rest.slice(0, end).split(',') }];
      return;
    }
    async function* remaining(): AsyncGenerator<string> {
      if (rest.length > 0) yield rest;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    }
    yield* csvParseRecords(remaining(), line);
  } finally {
    await it.return?.();
  }
}

/** csv-parse over the rest of a file whose first line is `firstLine`; batches as `csvRecords`. */
async function* csvParseRecords(chunks: AsyncIterable<string>, firstLine: number): AsyncGenerator<ReaderItem<string[]>[]> {
  const pending: { fields: string[]; raw: string }[] = [];
  let error: (Error & { code?: string }) | undefined;
  const options: CsvOptions = {
    raw: true,
    relax_column_count: true,
    // Explicit: auto-detection would fix the delimiter from the first line and misread mixed endings.
    record_delimiter: ['\r\n', '\n'],
    // With `raw: true` csv-parse hands on_record `{record, raw}` although its types say `string[]`.
    on_record: (rec: unknown) => {
      const r = rec as { record: string[]; raw: string };
      pending.push({ fields: r.record, raw: r.raw });
      return null;
    },
  };
  const parser = parse(options);
  parser.on('error', (e: Error) => {
    error = e;
  });
  parser.resume();
  let line = firstLine;
  function drain(): ReaderItem<string[]>[] {
    const out: ReaderItem<string[]>[] = [];
    for (const r of pending) {
      const start = line;
      line += breaksIn(r.raw);
      if (r.fields.length === 1 && r.fields[0] === '' && /^\r?\n?$/.test(r.raw)) continue;
      out.push({ kind: 'record', line: start, value: r.fields });
    }
    pending.length = 0;
    return out;
  }
  for await (const chunk of chunks) {
    await new Promise<void>((resolve) => {
      parser.write(chunk, () => resolve());
    });
    const out = drain();
    if (out.length > 0) yield out;
    if (error) break;
  }
  if (!error)
    await new Promise<void>((resolve) => {
      parser.end(() => resolve());
    });
  // 'error' may be emitted after end's callback on the same tick.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const out = drain();
  if (error) {
    // csv-parse messages quote field contents; report only its code.
    out.push({ kind: 'problem', line, code: 'MALFORMED_CSV', message: `malformed CSV (${error.code ?? 'parse error'})`, fatal: true });
  }
  if (out.length > 0) yield out;
}

/** NDJSON: one JSON value per line; blank lines are skipped. */
export async function* ndjsonValues(chunks: AsyncIterable<string>, firstLine = 1): AsyncGenerator<ReaderItem<unknown>> {
  let buf = '';
  let line = firstLine;
  function* lineItem(text: string): Generator<ReaderItem<unknown>> {
    const t = text.trim();
    if (t !== '') {
      try {
        yield { kind: 'record', line, value: JSON.parse(t) as unknown };
      } catch {
        yield { kind: 'problem', line, code: 'MALFORMED_JSON', message: 'line is not valid JSON', fatal: false };
      }
    }
    line++;
  }
  for await (const chunk of chunks) {
    buf += chunk;
    let nl: number;
    let from = 0;
    while ((nl = buf.indexOf('\n', from)) !== -1) {
      yield* lineItem(buf.slice(from, nl));
      from = nl + 1;
    }
    buf = buf.slice(from);
    if (buf.length > MAX_JSON_ROW_CHARS) {
      yield { kind: 'problem', line, code: 'MALFORMED_JSON', message: `line longer than ${MAX_JSON_ROW_CHARS} characters`, fatal: true };
      return;
    }
  }
  yield* lineItem(buf);
}

const WS = new Set([32, 9, 10, 13]);

/**
 * Elements of a top-level JSON array, one at a time, with the line each starts on. A small
 * structural scanner finds element boundaries (tracking strings, escapes and nesting) and each
 * element is handed to `JSON.parse`, so memory holds one element, not the file.
 */
export async function* jsonArrayValues(chunks: AsyncIterable<string>): AsyncGenerator<ReaderItem<unknown>> {
  // States: 0 before '[', 1 expecting element or ']', 2 in element, 3 expecting ',' or ']', 4 after ']'.
  let state = 0;
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let elem = '';
  let elemLine = 1;
  let sawElement = false;
  const fatal = (code: ProblemCode, message: string): ReaderItem<unknown> => ({ kind: 'problem', line, code, message, fatal: true });
  function finish(): ReaderItem<unknown> {
    const text = elem;
    elem = '';
    try {
      return { kind: 'record', line: elemLine, value: JSON.parse(text) as unknown };
    } catch {
      return { kind: 'problem', line: elemLine, code: 'MALFORMED_JSON', message: 'array element is not valid JSON', fatal: false };
    }
  }
  for await (const chunk of chunks) {
    let start = state === 2 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (state === 2) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92)
            escaped = true; // backslash
          else if (c === 34) inString = false;
        } else if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth++;
        else if ((c === 44 || c === 93) && depth === 0) {
          // ',' or ']' ends a primitive element
          elem += chunk.slice(start, i);
          yield finish();
          state = c === 44 ? 1 : 4;
          if (c === 44) sawElement = true;
        } else if (c === 125 || c === 93) {
          depth--;
          if (depth === 0) {
            elem += chunk.slice(start, i + 1);
            yield finish();
            state = 3;
          }
        }
        if (c === 10) line++;
        continue;
      }
      if (c === 10) {
        line++;
        continue;
      }
      if (WS.has(c)) continue;
      if (state === 0) {
        if (c !== 91) {
          yield fatal('NOT_AN_ARRAY', 'a JSON file must be an array of row objects (or NDJSON, one object per line)');
          return;
        }
        state = 1;
      } else if (state === 1) {
        if (c === 93 && !sawElement) {
          state = 4;
          continue;
        }
        if (c === 93 || c === 44) {
          yield fatal('MALFORMED_JSON', 'expected an array element');
          return;
        }
        state = 2;
        start = i;
        elemLine = line;
        depth = 0;
        inString = false;
        escaped = false;
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth = 1;
      } else if (state === 3) {
        if (c === 44) {
          state = 1;
          sawElement = true;
        } else if (c === 93) state = 4;
        else {
          yield fatal('MALFORMED_JSON', 'expected "," or "]" after an array element');
          return;
        }
      } else {
        yield fatal('MALFORMED_JSON', 'content after the end of the array');
        return;
      }
    }
    if (state === 2) {
      elem += chunk.slice(start);
      if (elem.length > MAX_JSON_ROW_CHARS) {
        yield fatal('MALFORMED_JSON', `array element longer than ${MAX_JSON_ROW_CHARS} characters`);
        return;
      }
    }
  }
  if (state === 2 && depth === 0 && !inString) {
    // a primitive element cut by end of file
    yield finish();
    state = 1;
  }
  if (state !== 4) yield fatal('MALFORMED_JSON', 'unexpected end of file inside the array');
}
