import { Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Readable } from 'node:stream';
import { AppError, type Principal } from '#contracts';
import { CurrentPrincipal, RawBody, Roles } from '#platform';
import { KeysetsService } from './keysets.service.js';

/** Reads a request body as bytes, refusing (413) beyond `limit` without buffering the rest. */
export async function readBody(
  req: Readable & { headers: Record<string, string | string[] | undefined> },
  limit: number,
): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new AppError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes is over the limit of ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new AppError('PAYLOAD_TOO_LARGE', `body is over the limit of ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks, size));
}

@ApiTags('keysets')
@ApiBearerAuth()
@Controller('keysets')
export class KeysetsController {
  constructor(private readonly keysets: KeysetsService) {}

  @Post()
  @HttpCode(201)
  @RawBody()
  @Roles('consumer')
  @ApiConsumes('application/octet-stream')
  @ApiOperation({ summary: 'Publish a public keyset (binary, as `dataspace keys generate` writes it); returns its fingerprint id' })
  async register(
    @Req() req: Readable & { headers: Record<string, string | string[] | undefined> },
    @CurrentPrincipal() who: Principal,
    @Res({ passthrough: true }) res: { status(n: number): void },
  ): Promise<unknown> {
    const bytes = await readBody(req, this.keysets.maxBytes);
    if (bytes.length === 0) throw new AppError('BAD_REQUEST', 'empty body: send the public keyset bytes');
    const r = await this.keysets.register(bytes, who);
    if (!r.created) res.status(200);
    return { id: r.id, params: r.params, galoisSteps: r.galoisSteps, size: r.size };
  }

  @Get(':id')
  @Roles('consumer', 'provider', 'auditor')
  @ApiOperation({ summary: 'Metadata of a keyset' })
  async get(@Param('id') id: string): Promise<unknown> {
    const k = await this.keysets.get(id);
    return { id: k.id, consumer: k.consumerId, params: k.params, galoisSteps: k.galoisSteps, size: k.size, createdAt: k.createdAt };
  }
}
