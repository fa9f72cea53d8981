import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeController } from '@nestjs/swagger';
import type { Readable } from 'node:stream';
import {
  AppError,
  CONNECTOR_ROUTE_PREFIX,
  type ConnectorJob,
  ConnectorRoute,
  type Principal,
  failureReportSchema,
  offerDocumentSchema,
  progressReportSchema,
  refusalReportSchema,
  unframeUpload,
  uploadCommitSchema,
  uploadPartMetaSchema,
} from '#contracts';
import { type AppConfig, CONFIG, CurrentPrincipal, Roles, parseInput } from '#platform';
import { readBody } from '../keysets/keysets.controller.js';
import { ConnectorAccess } from './connector-access.service.js';
import { ConnectorGateway } from './connector-gateway.service.js';

type Req = Readable & { headers: Record<string, string | string[] | undefined> };
interface Res {
  status(n: number): Res;
  send(b: unknown): void;
  setHeader(k: string, v: string): void;
  end(b?: unknown): void;
}

/** A PSI set index or key count in a path. */
const step = (v: string, what: string): number => {
  if (!/^\d{1,3}$/.test(v)) throw new AppError('BAD_REQUEST', `bad ${what}`);
  return Number(v);
};

/**
 * The broker's side of the connector protocol, for connectors deployed apart (role `connector`). Every route acts
 * only for the connector the credential is bound to (ConnectorAccess): its offers, and the jobs that bind one of its
 * datasets, for the roles bound to them. Refused calls change nothing.
 */
@ApiExcludeController()
@ApiBearerAuth()
@Controller(CONNECTOR_ROUTE_PREFIX)
@Roles('connector')
export class ConnectorController {
  constructor(
    private readonly gateway: ConnectorGateway,
    private readonly access: ConnectorAccess,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {}

  @Put(ConnectorRoute.offer)
  @HttpCode(204)
  async publish(@Param('id') id: string, @Body() body: unknown, @CurrentPrincipal() who: Principal): Promise<void> {
    this.access.connectorOf(who);
    const o = parseInput(offerDocumentSchema, body, 'offer');
    if (o.datasetId !== id) throw new AppError('BAD_REQUEST', 'dataset id mismatch');
    await this.access.publishOffer(who, o);
  }

  @Get(ConnectorRoute.job)
  async job(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<ConnectorJob> {
    await this.access.ownRoles(who, id);
    const j = await this.gateway.job(id);
    if (!j) throw new AppError('NOT_FOUND', `no job ${id}`);
    return j;
  }

  @Get(ConnectorRoute.keyset)
  async keyset(@Param('id') id: string, @Res() res: Res, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.access.ownKeyset(who, id);
    const bytes = await this.gateway.publicKeyset(id);
    res.setHeader('content-type', 'application/octet-stream');
    res.status(200).end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  @Post(ConnectorRoute.uploadBegin)
  @HttpCode(204)
  async begin(@Param('id') id: string, @Param('role') role: string, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.access.ownRole(who, id, role);
    await this.gateway.beginUpload(id, role);
  }

  @Put(ConnectorRoute.uploadPart)
  @HttpCode(204)
  async part(@Param('id') id: string, @Param('role') role: string, @Req() req: Req, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.access.ownRole(who, id, role);
    // one part is at most UPLOAD_BATCH_CHUNKS of the plan's ciphertexts: nothing larger is read into memory
    const body = await readBody(req, Math.min(this.cfg.MAX_IMPORT_BYTES, await this.gateway.partMaxBytes(id)));
    let parsed;
    try {
      parsed = unframeUpload(body);
    } catch (e) {
      throw new AppError('BAD_REQUEST', `malformed upload: ${(e as Error).message}`);
    }
    const meta = uploadPartMetaSchema.safeParse(parsed.meta);
    if (!meta.success || meta.data.first.length !== parsed.features.length) {
      throw new AppError('BAD_REQUEST', "malformed upload: meta.first must give each feature's first chunk index");
    }
    const first = meta.data.first;
    await this.gateway.uploadPart(id, role, { features: parsed.features.map((f, i) => ({ ...f, first: first[i]! })) });
  }

  @Post(ConnectorRoute.uploadCommit)
  @HttpCode(204)
  async commit(
    @Param('id') id: string,
    @Param('role') role: string,
    @Body() body: unknown,
    @CurrentPrincipal() who: Principal,
  ): Promise<void> {
    await this.access.ownRole(who, id, role);
    const { meta } = parseInput(uploadCommitSchema, body, 'commit');
    await this.gateway.commitUpload(id, role, meta);
  }

  @Post(ConnectorRoute.progress)
  @HttpCode(204)
  async progress(
    @Param('id') id: string,
    @Param('role') role: string,
    @Body() body: unknown,
    @CurrentPrincipal() who: Principal,
  ): Promise<void> {
    await this.access.ownRole(who, id, role);
    await this.gateway.reportProgress(id, role, parseInput(progressReportSchema, body, 'progress').progress);
  }

  @Post(ConnectorRoute.refusal)
  @HttpCode(204)
  async refusal(
    @Param('id') id: string,
    @Param('role') role: string,
    @Body() body: unknown,
    @CurrentPrincipal() who: Principal,
  ): Promise<void> {
    await this.access.ownRole(who, id, role);
    await this.gateway.reportRefusal(id, role, parseInput(refusalReportSchema, body, 'refusal').reasons);
  }

  @Post(ConnectorRoute.failure)
  @HttpCode(204)
  async failure(
    @Param('id') id: string,
    @Param('role') role: string,
    @Body() body: unknown,
    @CurrentPrincipal() who: Principal,
  ): Promise<void> {
    await this.access.ownRole(who, id, role);
    await this.gateway.reportFailure(id, role, parseInput(failureReportSchema, body, 'failure').message);
  }

  /** Private set intersection: this party's own set blinded once (set = its index, keys = 1), or a set it re-blinded. */
  @Put(ConnectorRoute.psiSet)
  @HttpCode(204)
  async psiSubmit(
    @Param('id') id: string,
    @Param('role') role: string,
    @Param('set') set: string,
    @Param('keys') keys: string,
    @Req() req: Req,
    @CurrentPrincipal() who: Principal,
  ): Promise<void> {
    await this.access.ownRole(who, id, role);
    const s = step(set, 'set');
    const k = step(keys, 'key count');
    // No set is larger than the job's largest dataset (in points): a larger body is refused before it is read whole.
    const limit = Math.min(this.cfg.MAX_IMPORT_BYTES, await this.gateway.psiMaxBytes(id));
    await this.gateway.psiSubmit(id, role, s, k, await readBody(req, limit));
  }

  /** A set this party must re-blind next (404 until it was posted); no other set is ever handed out. */
  @Get(ConnectorRoute.psiSet)
  async psiTask(
    @Param('id') id: string,
    @Param('role') role: string,
    @Param('set') set: string,
    @Param('keys') keys: string,
    @Res() res: Res,
    @CurrentPrincipal() who: Principal,
  ): Promise<void> {
    await this.access.ownRole(who, id, role);
    const b = await this.gateway.psiTask(id, role, step(set, 'set'), step(keys, 'key count'));
    if (!b) throw new AppError('NOT_FOUND', 'not yet posted');
    res.setHeader('content-type', 'application/octet-stream');
    res.status(200).end(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }

  /** The positions of this party's matched points in the intersection's order (404 until every set is fully blinded). */
  @Get(ConnectorRoute.psiMatches)
  async psiMatches(
    @Param('id') id: string,
    @Param('role') role: string,
    @CurrentPrincipal() who: Principal,
  ): Promise<{ positions: number[] }> {
    await this.access.ownRole(who, id, role);
    const positions = await this.gateway.psiMatches(id, role);
    if (!positions) throw new AppError('NOT_FOUND', 'the intersection is not known yet');
    return { positions };
  }
}
