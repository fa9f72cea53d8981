import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { type CanActivate, type ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { AppError, type Principal, type Role } from '#contracts';
import { ParticipantEntity } from '#persistence';

export const ROLES_KEY = 'dataspace:roles';
export const PUBLIC_KEY = 'dataspace:public';
/** Roles allowed on a route (admin is always allowed). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);
/** A route anyone may call (health, docs, schema). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
export function newToken(): string {
  return 'dst_' + randomBytes(32).toString('base64url');
}

/** Resolves a bearer token to the participant it belongs to. */
export abstract class PrincipalResolver {
  abstract byToken(token: string): Promise<Principal | null>;
}

/**
 * For an app deployed apart from the broker (a provider connector with its own database): asks the broker
 * who a token belongs to (GET /participants/me), caching answers for a short while by the token's hash.
 */
export class RemotePrincipalResolver extends PrincipalResolver {
  private readonly cache = new Map<string, { p: Principal | null; until: number }>();
  constructor(
    private readonly brokerUrl: string,
    private readonly ttlMs = 30_000,
  ) {
    super();
  }

  async byToken(token: string): Promise<Principal | null> {
    const key = hashToken(token);
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.p;
    let res: Response;
    try {
      res = await fetch(new URL('participants/me', this.brokerUrl.endsWith('/') ? this.brokerUrl : this.brokerUrl + '/'), {
        headers: { authorization: `Bearer ${token}` },
      });
    } catch {
      throw new AppError('NOT_READY', 'the broker cannot be reached to check this token');
    }
    const p = res.ok ? ((await res.json()) as Principal) : null;
    if (res.status !== 401 && !res.ok) throw new AppError('NOT_READY', 'the broker could not check this token');
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { p, until: Date.now() + this.ttlMs });
    return p;
  }
}

/** Participants and their bearer tokens; tokens are stored only as SHA-256 hashes. */
export class ParticipantsStore extends PrincipalResolver {
  constructor(private readonly ds: DataSource) {
    super();
  }

  /** `connectorId` binds a `connector` credential to the one connector it acts for (required for that role only). */
  async add(role: Role, name: string, id: string = randomUUID(), connectorId?: string): Promise<Principal & { token: string }> {
    if ((role === 'connector') !== (connectorId !== undefined))
      throw new AppError('BAD_REQUEST', 'a connector id is given for, and only for, a connector credential');
    const token = newToken();
    const p = this.ds
      .getRepository(ParticipantEntity)
      .create({ id, name, role, tokenHash: hashToken(token), connectorId: connectorId ?? null });
    await this.ds.getRepository(ParticipantEntity).insert(p);
    return { ...principalOf(p), token };
  }

  async byToken(token: string): Promise<Principal | null> {
    const p = await this.ds.getRepository(ParticipantEntity).findOneBy({ tokenHash: hashToken(token) });
    return p ? principalOf(p) : null;
  }

  async byId(id: string): Promise<Principal | null> {
    const p = await this.ds.getRepository(ParticipantEntity).findOneBy({ id });
    return p ? principalOf(p) : null;
  }

  /**
   * On first start: creates the admin participant and writes its token to `<dataDir>/admin.token` (0600).
   * Returns the path when a token was written.
   */
  async ensureAdmin(dataDir: string): Promise<{ path: string; created: boolean }> {
    const path = join(dataDir, 'admin.token');
    if (existsSync(path)) {
      const token = readFileSync(path, 'utf8').trim();
      if (await this.byToken(token)) return { path, created: false };
    }
    const repo = this.ds.getRepository(ParticipantEntity);
    const token = newToken();
    await repo.insert(repo.create({ id: randomUUID(), name: 'admin', role: 'admin', tokenHash: hashToken(token) }));
    writeFileSync(path, token + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
    return { path, created: true };
  }
}

function principalOf(p: ParticipantEntity): Principal {
  return { id: p.id, name: p.name, role: p.role as Role, ...(p.connectorId ? { connectorId: p.connectorId } : {}) };
}

interface AuthedRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}

/** Every route is guarded: a bearer token is required, and the route's roles must include the caller's. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly participants: PrincipalResolver,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const h = req.headers['authorization'];
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    if (!m) throw new AppError('UNAUTHENTICATED', 'a bearer token is required (Authorization: Bearer <token>)');
    const principal = await this.participants.byToken(m[1]!);
    if (!principal) throw new AppError('UNAUTHENTICATED', 'unknown token');
    req.principal = principal;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (principal.role === 'admin') return true;
    if (!roles || !roles.includes(principal.role)) {
      throw new AppError('FORBIDDEN', `this action needs the role ${roles?.join(' or ') ?? 'admin'}; you are ${principal.role}`);
    }
    return true;
  }
}

export const CurrentPrincipal = createParamDecorator((_d: unknown, ctx: ExecutionContext): Principal => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!p) throw new AppError('UNAUTHENTICATED', 'not signed in');
  return p;
});
