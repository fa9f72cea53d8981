/**
 * HTTP client of the data space API (broker, provider connector, ledger). Errors from the server arrive as
 * `{error, message, details}` and are thrown as `ApiError` with the same fields.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  url: string;
  token?: string | undefined;
  /** Called with every request the client sends (tests inspect them; the CLI never logs them). */
  onRequest?: (r: { method: string; path: string; headers: Record<string, string>; body: Uint8Array | string | null }) => void;
}

export class DataspaceClient {
  constructor(readonly opts: ClientOptions) {}

  withToken(token: string): DataspaceClient {
    return new DataspaceClient({ ...this.opts, token });
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extra: { headers?: Record<string, string>; raw?: Uint8Array | string } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...(extra.headers ?? {}) };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let payload: Uint8Array | string | null = null;
    if (extra.raw !== undefined) payload = extra.raw;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    this.opts.onRequest?.({ method, path, headers, body: payload });
    let res: Response | undefined;
    const url = new URL(path, this.opts.url.endsWith('/') ? this.opts.url : this.opts.url + '/');
    // A kept-alive socket the server has just closed fails at once with ECONNRESET; retry once on a fresh
    // one for requests that are safe to repeat (reads, and submissions that carry an Idempotency-Key).
    const repeatable = method === 'GET' || 'idempotency-key' in headers || path.startsWith('keysets');
    for (let attempt = 0; !res; attempt++) {
      try {
        res = await fetch(url, { method, headers, body: payload as RequestInit['body'] });
      } catch (e) {
        const code = (e as { cause?: { code?: string } }).cause?.code;
        if (repeatable && attempt === 0 && (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET')) continue;
        throw new ApiError(0, 'UNREACHABLE', `cannot reach ${this.opts.url}: ${code ?? (e as Error).message}`);
      }
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const b = (json ?? {}) as { error?: string; message?: string; details?: unknown[] };
      throw new ApiError(res.status, b.error ?? `HTTP_${res.status}`, b.message ?? (text.slice(0, 200) || res.statusText), b.details ?? []);
    }
    return json as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('POST', path, body, headers ? { headers } : {});
  }

  postRaw<T>(path: string, raw: Uint8Array | string, contentType: string): Promise<T> {
    return this.request<T>('POST', path, undefined, { raw, headers: { 'content-type': contentType } });
  }
}
