import { frameUpload } from '#contracts';
import { BrokerLink, type JobForProvider, type OfferDocument, type UploadPart, type UploadedInputs } from './ports.js';

/** The structural shape of the broker's ConnectorGateway (a direct call when both run in one process). */
export interface Gateway {
  publishOffer(o: OfferDocument): Promise<void>;
  job(jobId: string): Promise<JobForProvider | null>;
  publicKeyset(keysetId: string): Promise<Uint8Array>;
  beginUpload(jobId: string, role: string): Promise<void>;
  uploadPart(jobId: string, role: string, part: UploadPart): Promise<void>;
  commitUpload(jobId: string, role: string, meta: UploadedInputs['meta']): Promise<void>;
  reportProgress(jobId: string, role: string, progress: Record<string, unknown>): Promise<void>;
  reportRefusal(jobId: string, role: string, reasons: { code: string; message: string }[]): Promise<void>;
  reportFailure(jobId: string, role: string, message: string): Promise<void>;
  psiSubmit(jobId: string, role: string, set: number, keys: number, points: Uint8Array): Promise<void>;
  psiTask(jobId: string, role: string, set: number, keys: number): Promise<Uint8Array | null>;
  psiMatches(jobId: string, role: string): Promise<number[] | null>;
}

/** Embedded default: the broker runs in this process. */
export class DirectBrokerLink extends BrokerLink {
  constructor(private readonly g: Gateway) {
    super();
  }
  boundConnectorId(): Promise<string | null> {
    return Promise.resolve(null);
  }
  publishOffer(o: OfferDocument): Promise<void> {
    return this.g.publishOffer(o);
  }
  job(jobId: string): Promise<JobForProvider | null> {
    return this.g.job(jobId);
  }
  publicKeyset(keysetId: string): Promise<Uint8Array> {
    return this.g.publicKeyset(keysetId);
  }
  beginUpload(jobId: string, role: string): Promise<void> {
    return this.g.beginUpload(jobId, role);
  }
  uploadPart(jobId: string, role: string, part: UploadPart): Promise<void> {
    return this.g.uploadPart(jobId, role, part);
  }
  commitUpload(jobId: string, role: string, meta: UploadedInputs['meta']): Promise<void> {
    return this.g.commitUpload(jobId, role, meta);
  }
  reportProgress(jobId: string, role: string, p: Record<string, unknown>): Promise<void> {
    return this.g.reportProgress(jobId, role, p);
  }
  reportRefusal(jobId: string, role: string, r: { code: string; message: string }[]): Promise<void> {
    return this.g.reportRefusal(jobId, role, r);
  }
  reportFailure(jobId: string, role: string, m: string): Promise<void> {
    return this.g.reportFailure(jobId, role, m);
  }
  psiSubmit(jobId: string, role: string, set: number, keys: number, points: Uint8Array): Promise<void> {
    return this.g.psiSubmit(jobId, role, set, keys, points);
  }
  psiTask(jobId: string, role: string, set: number, keys: number): Promise<Uint8Array | null> {
    return this.g.psiTask(jobId, role, set, keys);
  }
  psiMatches(jobId: string, role: string): Promise<number[] | null> {
    return this.g.psiMatches(jobId, role);
  }
}

/** A connector deployed apart: talks to the broker over HTTP with its `connector` credential. */
export class HttpBrokerLink extends BrokerLink {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {
    super();
  }

  private async req(method: string, path: string, body?: unknown, raw?: Uint8Array | Uint8Array[]): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: RequestInit['body'];
    if (raw) {
      headers['content-type'] = 'application/octet-stream';
      payload = Array.isArray(raw) ? Buffer.concat(raw) : raw;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : this.baseUrl + '/'), {
      method,
      headers,
      body: payload,
    });
    if (!res.ok && res.status !== 404) {
      const text = await res.text().catch(() => '');
      throw new Error(`broker ${method} ${path.split('/').slice(0, 2).join('/')}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    return res;
  }

  async boundConnectorId(): Promise<string | null> {
    const r = await this.req('GET', 'participants/me');
    return r.ok ? (((await r.json()) as { connectorId?: string }).connectorId ?? '') : '';
  }
  async publishOffer(o: OfferDocument): Promise<void> {
    await this.req('PUT', `connector/offers/${encodeURIComponent(o.datasetId)}`, o);
  }
  async job(jobId: string): Promise<JobForProvider | null> {
    const r = await this.req('GET', `connector/jobs/${encodeURIComponent(jobId)}`);
    return r.status === 404 ? null : ((await r.json()) as JobForProvider);
  }
  async publicKeyset(keysetId: string): Promise<Uint8Array> {
    const r = await this.req('GET', `connector/keysets/${encodeURIComponent(keysetId)}`);
    if (r.status === 404) throw new Error('keyset not found at the broker');
    return new Uint8Array(await r.arrayBuffer());
  }
  private inputs(jobId: string, role: string, what: string): string {
    return `connector/jobs/${encodeURIComponent(jobId)}/inputs/${encodeURIComponent(role)}/${what}`;
  }
  async beginUpload(jobId: string, role: string): Promise<void> {
    await this.req('POST', this.inputs(jobId, role, 'begin'), {});
  }
  async uploadPart(jobId: string, role: string, part: UploadPart): Promise<void> {
    await this.req(
      'PUT',
      this.inputs(jobId, role, 'parts'),
      undefined,
      frameUpload({ first: part.features.map((f) => f.first) }, part.features),
    );
  }
  async commitUpload(jobId: string, role: string, meta: UploadedInputs['meta']): Promise<void> {
    await this.req('POST', this.inputs(jobId, role, 'commit'), { meta });
  }
  async reportProgress(jobId: string, role: string, progress: Record<string, unknown>): Promise<void> {
    await this.req('POST', `connector/jobs/${encodeURIComponent(jobId)}/roles/${encodeURIComponent(role)}/progress`, { progress });
  }
  async reportRefusal(jobId: string, role: string, reasons: { code: string; message: string }[]): Promise<void> {
    await this.req('POST', `connector/jobs/${encodeURIComponent(jobId)}/roles/${encodeURIComponent(role)}/refusal`, { reasons });
  }
  async reportFailure(jobId: string, role: string, message: string): Promise<void> {
    await this.req('POST', `connector/jobs/${encodeURIComponent(jobId)}/roles/${encodeURIComponent(role)}/failure`, {
      message: message.slice(0, 2000),
    });
  }
  private psi(jobId: string, role: string, what: string): string {
    return `connector/jobs/${encodeURIComponent(jobId)}/psi/${encodeURIComponent(role)}/${what}`;
  }
  async psiSubmit(jobId: string, role: string, set: number, keys: number, points: Uint8Array): Promise<void> {
    const r = await this.req('PUT', this.psi(jobId, role, `sets/${set}/${keys}`), undefined, points);
    if (r.status === 404) throw new Error(`broker PUT psi: HTTP 404 ${(await r.text().catch(() => '')).slice(0, 200)}`);
  }
  async psiTask(jobId: string, role: string, set: number, keys: number): Promise<Uint8Array | null> {
    const r = await this.req('GET', this.psi(jobId, role, `sets/${set}/${keys}`));
    return r.status === 404 ? null : new Uint8Array(await r.arrayBuffer());
  }
  async psiMatches(jobId: string, role: string): Promise<number[] | null> {
    const r = await this.req('GET', this.psi(jobId, role, 'matches'));
    return r.status === 404 ? null : ((await r.json()) as { positions: number[] }).positions;
  }
}
