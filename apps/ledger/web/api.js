// The ledger HTTP API, called with the auditor's bearer token (kept in sessionStorage, so it is gone
// when the tab closes and is never written to localStorage or the URL).
const TOKEN_KEY = 'dataspace.audit.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export class Api {
  constructor(token, { onUnauthorized } = {}) {
    if (typeof token !== 'string' || token.length === 0) throw new TypeError('Api: a token is required');
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async get(path, params = {}) {
    return this.request('GET', path, params);
  }

  async post(path, params = {}) {
    return this.request('POST', path, params);
  }

  async request(method, path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const url = path + (q.size ? `?${q}` : '');
    let res;
    try {
      res = await fetch(url, { method, headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' }, cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'NETWORK', 'the ledger service cannot be reached');
    }
    let body;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (!res.ok) {
      if (res.status === 401 && this.onUnauthorized) this.onUnauthorized();
      throw new ApiError(res.status, body?.error ?? 'HTTP_ERROR', body?.message ?? `request failed with status ${res.status}`);
    }
    return body;
  }

  /** Every entry matching `filter`, page by page, up to `cap` entries. */
  async allEntries(filter, cap = 20000) {
    const out = [];
    let total = 0;
    for (let offset = 0; offset < cap; offset += 1000) {
      const page = await this.get('/ledger/entries', { ...filter, offset, limit: Math.min(1000, cap - offset) });
      total = page.total;
      out.push(...page.entries);
      if (page.entries.length === 0 || out.length >= total) break;
    }
    return { entries: out, total, truncated: out.length < total };
  }
}
