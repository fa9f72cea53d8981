import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { type Principal } from '#contracts';
import { OfferEntity } from '#persistence';
import { CurrentPrincipal, Public, Roles, parseInput } from '#platform';
import { LEDGER_KEY_NAME, LEDGER_ORIGIN, LedgerService, MAX_NODE_KEYS } from './ledger.service.js';

const int = z.coerce.number().int().min(0);
const entriesQuery = z.strictObject({
  dataset: z.string().max(64).optional(),
  consumer: z.string().max(64).optional(),
  job: z.string().max(64).optional(),
  type: z.string().max(40).optional(),
  purpose: z.string().max(100).optional(),
  from: z.string().datetime({ offset: true }).optional(),
  to: z.string().datetime({ offset: true }).optional(),
  offset: int.default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const nodesBody = z.strictObject({
  keys: z
    .array(z.strictObject({ level: z.number().int().min(0).max(62), index: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }))
    .max(MAX_NODE_KEYS),
});

@ApiTags('ledger')
@ApiBearerAuth()
@Controller('ledger')
export class LedgerController {
  constructor(
    private readonly ledger: LedgerService,
    private readonly ds: DataSource,
  ) {}

  @Get('entries')
  @Roles('auditor', 'provider', 'consumer')
  @ApiOperation({ summary: "Usage events (auditors: all; providers: their datasets' events; consumers: their own jobs)" })
  async entries(@Query() q: Record<string, string>, @CurrentPrincipal() who: Principal): Promise<unknown> {
    const f = parseInput(entriesQuery, q, 'query');
    const filter = { ...f } as Parameters<LedgerService['entries']>[0];
    if (who.role === 'consumer') filter.consumer = who.id;
    if (who.role === 'provider') {
      // The broker's catalog knows every dataset's provider, also for connectors deployed apart.
      const own = await this.ds.getRepository(OfferEntity).find({ select: { datasetId: true }, where: { providerId: who.id } });
      filter.datasetsIn = own.map((d) => d.datasetId);
    }
    return this.ledger.entries(filter);
  }

  @Get('checkpoint')
  @Public()
  @ApiOperation({ summary: 'The latest signed checkpoint (C2SP tlog-checkpoint note) and the key that signs it' })
  async checkpoint(): Promise<unknown> {
    const cp = await this.ledger.latestCheckpoint();
    return { origin: LEDGER_ORIGIN, keyName: LEDGER_KEY_NAME, size: cp.size, checkpoint: cp.text, publicKey: this.ledger.publicKeyPem() };
  }

  @Post('checkpoint')
  @HttpCode(200)
  @Roles('auditor')
  @ApiOperation({ summary: 'Sign a checkpoint of the log as it is now' })
  async newCheckpoint(): Promise<unknown> {
    const cp = await this.ledger.checkpoint();
    return { origin: LEDGER_ORIGIN, keyName: LEDGER_KEY_NAME, size: cp.size, checkpoint: cp.text, publicKey: this.ledger.publicKeyPem() };
  }

  @Get('public-key')
  @Public()
  @ApiOperation({ summary: 'The Ed25519 key (SPKI PEM) that signs checkpoints, and its note key name' })
  publicKey(): { keyName: string; publicKey: string } {
    return { keyName: LEDGER_KEY_NAME, publicKey: this.ledger.publicKeyPem() };
  }

  @Get('proof/inclusion')
  @Roles('auditor', 'provider', 'consumer')
  @ApiQuery({ name: 'index' })
  @ApiQuery({ name: 'size' })
  @ApiOperation({ summary: 'RFC 6962 inclusion proof of entry `index` in the tree of `size` entries' })
  async inclusion(@Query() q: Record<string, string>): Promise<unknown> {
    const p = parseInput(z.strictObject({ index: int, size: int }), q, 'query');
    return this.ledger.inclusion(p.index, p.size);
  }

  @Get('proof/consistency')
  @Roles('auditor', 'provider', 'consumer')
  @ApiQuery({ name: 'from' })
  @ApiQuery({ name: 'to' })
  @ApiOperation({ summary: 'RFC 6962 consistency proof between the trees of `from` and `to` entries' })
  async consistency(@Query() q: Record<string, string>): Promise<unknown> {
    const p = parseInput(z.strictObject({ from: int, to: int }), q, 'query');
    return this.ledger.consistency(p.from, p.to);
  }

  @Get('raw')
  @Roles('auditor')
  @ApiOperation({ summary: 'Stored entries exactly as stored (canonical JSON and leaf hash), for full verification' })
  async raw(@Query() q: Record<string, string>): Promise<unknown> {
    const p = parseInput(
      z.strictObject({ from: int.default(0), limit: z.coerce.number().int().min(1).max(10000).default(5000) }),
      q,
      'query',
    );
    const size = await this.ledger.size();
    return { size, entries: await this.ledger.raw(p.from, p.limit) };
  }

  @Post('nodes')
  @HttpCode(200)
  @Roles('auditor')
  @ApiOperation({ summary: 'Stored complete-subtree hashes (hex; null when absent) for the given (level, index) keys, in order' })
  async nodes(@Body() body: unknown): Promise<{ hashes: (string | null)[] }> {
    const p = parseInput(nodesBody, body, 'nodes');
    return { hashes: await this.ledger.nodes(p.keys) };
  }
}
