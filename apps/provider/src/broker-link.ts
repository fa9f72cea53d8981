import {
  BrokerDocumentError,
  ConnectorPort,
  type ConnectorJob,
  type OfferDocument,
  type RefusalReason,
  type UploadMeta,
  type UploadPart,
  FAILURE_MESSAGE_MAX,
  WHO_AM_I_PATH,
  brokerErrorSchema,
  connectorJobSchema,
  connectorPath,
  frameUpload,
  psiMatchesSchema,
  readBrokerDocument,
  whoAmISchema,
} from '#contracts';

/** The broker refused a call (or failed): its HTTP status and error code (`NOT_FOUND`, `CONFLICT`, ...), if it sent one. */
export class BrokerCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerCallError';
  }
}

interface Call {
  body?: unknown;
  raw?: Uint8Array | Uint8Array[];
  /** A 404 means "absent" (the method answers null) rather than a refusal. */
  absent?: boolean;
}

/**
 * `ConnectorPort` over HTTP, for a connector deployed apart: it calls the broker's connector routes
 * (`ConnectorRoute`, `#contracts`) with its `connector` credential. Every JSON document the broker answers with is
 * checked against the protocol's schema before the connector acts on it (`readBrokerDocument`: a malformed one is a
 * BrokerDocumentError naming its JSON paths); every refusal is a BrokerCallError with the broker's status and code.
 * A 404 reads as "absent" only where the port says so (a job, a PSI set not posted yet, matches not known yet, a
 * progress report about a job that is gone); anywhere else it is a refusal like any other.
 */
export class HttpBrokerLink extends ConnectorPort {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {
    super();
  }

  /** The response, or null for a 404 when `absent` is set; any other non-2xx answer throws BrokerCallError. */
  private async req(method: string, path: string, c: Call = {}): Promise<Response | null> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: RequestInit['body'];
    if (c.raw) {
      headers['content-type'] = 'application/octet-stream';
      payload = Array.isArray(c.raw) ? Buffer.concat(c.raw) : c.raw;
    } else if (c.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(c.body);
    }
    const res = await fetch(new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : this.baseUrl + '/'), {
      method,
      headers,
      body: payload,
    });
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    if (res.status === 404 && c.absent) return null;
    let code: string | null = null;
    try {
      const e = brokerErrorSchema.safeParse(JSON.parse(text));
      if (e.success) code = e.data.error;
    } catch {
      // not a JSON error document (a proxy's page, say): the status alone tells what happened
    }
    throw new BrokerCallError(
      res.status,
      code,
      `broker ${method} ${path.split('/').slice(0, 2).join('/')}: HTTP ${res.status} ${text.slice(0, 200)}`,
    );
  }

  private async json(res: Response, what: string): Promise<unknown> {
    try {
      return await res.json();
    } catch {
      throw new BrokerDocumentError(what, [{ path: '$', code: 'invalid_json', message: 'the body is not JSON' }]);
    }
  }

  async boundConnectorId(): Promise<string | null> {
    const r = await this.req('GET', WHO_AM_I_PATH, { absent: true });
    if (!r) return '';
    return readBrokerDocument(whoAmISchema, await this.json(r, 'participant'), 'participant').connectorId ?? '';
  }
  async publishOffer(o: OfferDocument): Promise<void> {
    await this.req('PUT', connectorPath('offer', { id: o.datasetId }), { body: o });
  }
  async job(jobId: string): Promise<ConnectorJob | null> {
    const r = await this.req('GET', connectorPath('job', { id: jobId }), { absent: true });
    return r ? readBrokerDocument(connectorJobSchema, await this.json(r, 'job'), 'job') : null;
  }
  async publicKeyset(keysetId: string): Promise<Uint8Array> {
    const r = await this.req('GET', connectorPath('keyset', { id: keysetId }));
    return new Uint8Array(await r!.arrayBuffer());
  }
  async beginUpload(jobId: string, role: string): Promise<void> {
    await this.req('POST', connectorPath('uploadBegin', { id: jobId, role }), { body: {} });
  }
  async uploadPart(jobId: string, role: string, part: UploadPart): Promise<void> {
    await this.req('PUT', connectorPath('uploadPart', { id: jobId, role }), {
      raw: frameUpload({ first: part.features.map((f) => f.first) }, part.features),
    });
  }
  async commitUpload(jobId: string, role: string, meta: UploadMeta): Promise<void> {
    await this.req('POST', connectorPath('uploadCommit', { id: jobId, role }), { body: { meta } });
  }
  async reportProgress(jobId: string, role: string, progress: Record<string, unknown>): Promise<void> {
    // as in process: a report about a job that is gone changes nothing
    await this.req('POST', connectorPath('progress', { id: jobId, role }), { body: { progress }, absent: true });
  }
  async reportRefusal(jobId: string, role: string, reasons: RefusalReason[]): Promise<void> {
    await this.req('POST', connectorPath('refusal', { id: jobId, role }), { body: { reasons } });
  }
  async reportFailure(jobId: string, role: string, message: string): Promise<void> {
    await this.req('POST', connectorPath('failure', { id: jobId, role }), { body: { message: message.slice(0, FAILURE_MESSAGE_MAX) } });
  }
  async psiSubmit(jobId: string, role: string, set: number, keys: number, points: Uint8Array): Promise<void> {
    await this.req('PUT', connectorPath('psiSet', { id: jobId, role, set, keys }), { raw: points });
  }
  async psiTask(jobId: string, role: string, set: number, keys: number): Promise<Uint8Array | null> {
    const r = await this.req('GET', connectorPath('psiSet', { id: jobId, role, set, keys }), { absent: true });
    return r ? new Uint8Array(await r.arrayBuffer()) : null;
  }
  async psiMatches(jobId: string, role: string): Promise<number[] | null> {
    const r = await this.req('GET', connectorPath('psiMatches', { id: jobId, role }), { absent: true });
    return r ? readBrokerDocument(psiMatchesSchema, await this.json(r, 'matches'), 'matches').positions : null;
  }
}
