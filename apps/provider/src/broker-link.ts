import { frameUpload } from '#contracts';
import { BrokerLink, type JobForProvider, type OfferDocument, type UploadedInputs } from './ports.js';

/** The structural shape of the broker's ConnectorGateway (a direct call when both run in one process). */
export interface Gateway {
  publishOffer(o: OfferDocument): Promise<void>;
  job(jobId: string): Promise<JobForProvider | null>;
  publicKeyset(keysetId: string): Promise<Uint8Array>;
  uploadInputs(jobId: string, role: string, inputs: UploadedInputs): Promise<void>;
  reportProgress(jobId: string, role: string, progress: Record<string, unknown>): Promise<void>;
  reportRefusal(jobId: string, role: string, reasons: { code: string; message: string }[]): Promise<void>;
  reportFailure(jobId: string, role: string, message: string): Promise<void>;
  psiPut(jobId: string, key: string, bytes: Uint8Array): Promise<void>;
  psiGet(jobId: string, key: string): Promise<Uint8Array | null>;
}

/** Embedded default: the broker runs in this process. */
export class DirectBrokerLink extends BrokerLink {
  constructor(private readonly g: Gateway) {
    super();
  }
  publishOffer(o: OfferDocument): Promise<void> { return this.g.publishOffer(o); }
  job(jobId: string): Promise<JobForProvider | null> { return this.g.job(jobId); }
  publicKeyset(keysetId: string): Promise<Uint8Array> { return this.g.publicKeyset(keysetId); }
  uploadInputs(jobId: string, role: string, inputs: UploadedInputs): Promise<void> { return this.g.uploadInputs(jobId, role, inputs); }
  reportProgress(jobId: string, role: string, p: Record<string, unknown>): Promise<void> { return this.g.reportProgress(jobId, role, p); }
  reportRefusal(jobId: string, role: string, r: { code: string; message: string }[]): Promise<void> { return this.g.reportRefusal(jobId, role, r); }
  reportFailure(jobId: string, role: string, m: string): Promise<void> { return this.g.reportFailure(jobId, role, m); }
  psiPut(jobId: string, key: string, bytes: Uint8Array): Promise<void> { return this.g.psiPut(jobId, key, bytes); }
  psiGet(jobId: string, key: string): Promise<Uint8Array | null> { return this.g.psiGet(jobId, key); }
}

/** A connector deployed apart: talks to the broker over HTTP with its `connector` credential. */
export class HttpBrokerLink extends BrokerLink {
  constructor(private readonly baseUrl: string, private readonly token: string) {
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
    const res = await fetch(new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : this.baseUrl + '/'), { method, headers, body: payload });
    if (!res.ok && res.status !== 404) {
      const text = await res.text().catch(() => '');
      throw new Error(`broker ${method} ${path.split('/').slice(0, 2).join('/')}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    return res;
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
  async uploadInputs(jobId: string, role: string, inputs: UploadedInputs): Promise<void> {
    await this.req('PUT', `connector/jobs/${encodeURIComponent(jobId)}/inputs/${encodeURIComponent(role)}`, undefined, frameUpload(inputs.meta, inputs.features));
  }
  async reportProgress(jobId: string, role: string, progress: Record<string, unknown>): Promise<void> {
    await this.req('POST', `connector/jobs/${encodeURIComponent(jobId)}/roles/${encodeURIComponent(role)}/progress`, { progress });
  }
  async reportRefusal(jobId: string, role: string, reasons: { code: string; message: string }[]): Promise<void> {
    await this.req('POST', `connector/jobs/${encodeURIComponent(jobId)}/roles/${encodeURIComponent(role)}/refusal`, { reasons });
  }
  async reportFailure(jobId: string, role: string, message: string): Promise<void> {
    await this.req('POST', `connector/jobs/${encodeURIComponent(jobId)}/roles/${encodeURIComponent(role)}/failure`, { message: message.slice(0, 2000) });
  }
  async psiPut(jobId: string, key: string, bytes: Uint8Array): Promise<void> {
    await this.req('PUT', `connector/jobs/${encodeURIComponent(jobId)}/psi/${encodeURIComponent(key)}`, undefined, bytes);
  }
  async psiGet(jobId: string, key: string): Promise<Uint8Array | null> {
    const r = await this.req('GET', `connector/jobs/${encodeURIComponent(jobId)}/psi/${encodeURIComponent(key)}`);
    return r.status === 404 ? null : new Uint8Array(await r.arrayBuffer());
  }
}
