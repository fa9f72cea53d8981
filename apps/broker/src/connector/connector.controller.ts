import { Body, Controller, Get, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeController } from '@nestjs/swagger';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError, unframeUpload } from '#contracts';
import { type AppConfig, CONFIG, Roles, parseInput } from '#platform';
import { Inject } from '@nestjs/common';
import { readBody } from '../keysets/keysets.controller.js';
import { ConnectorGateway } from './connector-gateway.service.js';

type Req = Readable & { headers: Record<string, string | string[] | undefined> };
interface Res { status(n: number): Res; send(b: unknown): void; setHeader(k: string, v: string): void; end(b?: unknown): void }

const offer = z.strictObject({
  datasetId: z.string().min(1).max(64), providerId: z.string().min(1).max(64), connectorId: z.string().min(1).max(64),
  name: z.string().min(1).max(200), description: z.string().max(10_000), columns: z.record(z.string(), z.unknown()),
  policy: z.record(z.string(), z.unknown()), rowCount: z.number().int().min(0),
});
const progress = z.strictObject({ progress: z.record(z.string(), z.unknown()) });
const refusal = z.strictObject({ reasons: z.array(z.strictObject({ code: z.string().max(60), message: z.string().max(500) })).max(50) });
const failure = z.strictObject({ message: z.string().max(2000) });
const commitBody = z.strictObject({
  meta: z.strictObject({
    rows: z.number().int().min(0), groupCounts: z.record(z.string(), z.array(z.number().int().min(0))), missingKeys: z.number().int().min(0),
    skippedRows: z.number().int().min(0), ciphertexts: z.number().int().min(0), bytes: z.number().int().min(0),
  }),
});
const key = /^[A-Za-z0-9:._-]{1,100}$/;

/** The broker's side of the connector protocol, for connectors deployed apart (role `connector`). */
@ApiExcludeController()
@ApiBearerAuth()
@Controller('connector')
@Roles('connector')
export class ConnectorController {
  constructor(private readonly gateway: ConnectorGateway, @Inject(CONFIG) private readonly cfg: AppConfig) {}

  @Put('offers/:id')
  @HttpCode(204)
  async publish(@Param('id') id: string, @Body() body: unknown): Promise<void> {
    const o = parseInput(offer, body, 'offer');
    if (o.datasetId !== id) throw new AppError('BAD_REQUEST', 'dataset id mismatch');
    await this.gateway.publishOffer(o);
  }

  @Get('jobs/:id')
  async job(@Param('id') id: string): Promise<unknown> {
    const j = await this.gateway.job(id);
    if (!j) throw new AppError('NOT_FOUND', `no job ${id}`);
    return j;
  }

  @Get('keysets/:id')
  async keyset(@Param('id') id: string, @Res() res: Res): Promise<void> {
    const bytes = await this.gateway.publicKeyset(id);
    res.setHeader('content-type', 'application/octet-stream');
    res.status(200).end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  @Post('jobs/:id/inputs/:role/begin')
  @HttpCode(204)
  async begin(@Param('id') id: string, @Param('role') role: string): Promise<void> {
    await this.gateway.beginUpload(id, role);
  }

  @Put('jobs/:id/inputs/:role/parts')
  @HttpCode(204)
  async part(@Param('id') id: string, @Param('role') role: string, @Req() req: Req): Promise<void> {
    const body = await readBody(req, this.cfg.MAX_IMPORT_BYTES);
    let parsed;
    try {
      parsed = unframeUpload(body);
    } catch (e) {
      throw new AppError('BAD_REQUEST', `malformed upload: ${(e as Error).message}`);
    }
    const first = (parsed.meta as { first?: unknown }).first;
    if (!Array.isArray(first) || first.length !== parsed.features.length || !first.every((n) => Number.isInteger(n) && n >= 0)) {
      throw new AppError('BAD_REQUEST', 'malformed upload: meta.first must give each feature\'s first chunk index');
    }
    await this.gateway.uploadPart(id, role, { features: parsed.features.map((f, i) => ({ ...f, first: first[i] as number })) });
  }

  @Post('jobs/:id/inputs/:role/commit')
  @HttpCode(204)
  async commit(@Param('id') id: string, @Param('role') role: string, @Body() body: unknown): Promise<void> {
    const { meta } = parseInput(commitBody, body, 'commit');
    await this.gateway.commitUpload(id, role, meta as never);
  }

  @Post('jobs/:id/roles/:role/progress')
  @HttpCode(204)
  async progress(@Param('id') id: string, @Param('role') role: string, @Body() body: unknown): Promise<void> {
    await this.gateway.reportProgress(id, role, parseInput(progress, body, 'progress').progress);
  }

  @Post('jobs/:id/roles/:role/refusal')
  @HttpCode(204)
  async refusal(@Param('id') id: string, @Param('role') role: string, @Body() body: unknown): Promise<void> {
    await this.gateway.reportRefusal(id, role, parseInput(refusal, body, 'refusal').reasons);
  }

  @Post('jobs/:id/roles/:role/failure')
  @HttpCode(204)
  async failure(@Param('id') id: string, @Param('role') role: string, @Body() body: unknown): Promise<void> {
    await this.gateway.reportFailure(id, role, parseInput(failure, body, 'failure').message);
  }

  @Put('jobs/:id/psi/:key')
  @HttpCode(204)
  async psiPut(@Param('id') id: string, @Param('key') k: string, @Req() req: Req): Promise<void> {
    if (!key.test(k)) throw new AppError('BAD_REQUEST', 'bad mailbox key');
    await this.gateway.psiPut(id, k, await readBody(req, this.cfg.MAX_IMPORT_BYTES));
  }

  @Get('jobs/:id/psi/:key')
  async psiGet(@Param('id') id: string, @Param('key') k: string, @Res() res: Res): Promise<void> {
    if (!key.test(k)) throw new AppError('BAD_REQUEST', 'bad mailbox key');
    const b = await this.gateway.psiGet(id, k);
    if (!b) throw new AppError('NOT_FOUND', 'not yet posted');
    res.setHeader('content-type', 'application/octet-stream');
    res.status(200).end(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
}
