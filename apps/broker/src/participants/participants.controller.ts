import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DataSource } from 'typeorm';
import { type Principal } from '#contracts';
import { ParticipantEntity } from '#persistence';
import { CurrentPrincipal, LedgerRecorder, ParticipantsStore, Roles, parseInput } from '#platform';

const addParticipant = z
  .object({
    role: z.enum(['provider', 'consumer', 'auditor', 'connector']),
    name: z.string().trim().min(1).max(200),
    /** A connector credential acts only for this connector (the CONNECTOR_ID of its deployment). */
    connectorId: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/, 'lower-case letters, digits and -, at most 40')
      .optional(),
  })
  .strict()
  .refine((p) => (p.role === 'connector') === (p.connectorId !== undefined), {
    message: 'connectorId is required for a connector credential and allowed for no other role',
    path: ['connectorId'],
  });

@ApiTags('participants')
@ApiBearerAuth()
@Controller('participants')
export class ParticipantsController {
  constructor(
    private readonly participants: ParticipantsStore,
    private readonly ledger: LedgerRecorder,
    private readonly ds: DataSource,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('admin')
  @ApiOperation({ summary: 'Add a participant (admin); returns its bearer token once (only its hash is stored)' })
  async add(@Body() body: unknown, @CurrentPrincipal() admin: Principal): Promise<Principal & { token: string }> {
    const input = parseInput(addParticipant, body, 'participant');
    // Added, then recorded: an insert that fails leaves no event behind; if the ledger cannot take the event,
    // the participant is removed again before its token was ever handed out, so nobody is added.
    const id = randomUUID();
    const added = await this.participants.add(input.role, input.name, id, input.connectorId);
    try {
      await this.ledger.record({
        type: 'participant.added',
        actor: { id: admin.id, role: admin.role },
        data: { participant: id, role: input.role, ...(input.connectorId ? { connector: input.connectorId } : {}) },
      });
    } catch (e) {
      await this.ds.getRepository(ParticipantEntity).delete({ id });
      throw e;
    }
    return added;
  }

  @Get('me')
  @Roles('provider', 'consumer', 'auditor', 'connector')
  @ApiOperation({ summary: 'Who this token belongs to (connectors deployed apart check tokens here)' })
  me(@CurrentPrincipal() who: Principal): Principal {
    return who;
  }
}
