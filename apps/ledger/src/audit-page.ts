import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { AppError } from '#contracts';
import { Public } from '#platform';

/**
 * The auditor console: static files from apps/ledger/web, served at /audit. No build step, so the
 * folder is read from the source tree (this file compiles to dist/apps/ledger/src/).
 */
export const AUDIT_WEB_DIR = fileURLToPath(new URL('../../../../apps/ledger/web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
};

/**
 * Everything the page loads comes from this origin (CSP 'self'), so it makes no external requests, and
 * no inline script or style can run even if an event field were rendered unsafely.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
}

/** Reads the flat web folder once: only these names are ever served (no path from the request touches the disk). */
export function loadAuditAssets(dir: string = AUDIT_WEB_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    const path = join(dir, name);
    if (!type || !statSync(path).isFile()) continue;
    assets.set(name, { body: readFileSync(path), type });
  }
  if (!assets.has('index.html')) throw new Error(`auditor page: ${dir} has no index.html`);
  return assets;
}

@ApiExcludeController()
@Public()
@Controller('audit')
export class AuditPageController {
  private readonly assets = loadAuditAssets();

  @Get()
  index(@Res() res: Response): void {
    this.send(res, 'index.html');
  }

  /**
   * A file of the page; any other name without an extension is a page route and gets index.html
   * (the page routes on its URL hash, this only makes pasted /audit/... links land on the console).
   */
  @Get(':name')
  file(@Param('name') name: string, @Res() res: Response): void {
    if (this.assets.has(name)) return this.send(res, name);
    if (/^[\w-]+$/.test(name)) return this.send(res, 'index.html');
    throw new AppError('NOT_FOUND', 'no such file in the auditor page');
  }

  private send(res: Response, name: string): void {
    const a = this.assets.get(name)!;
    res
      .status(200)
      .set({
        'content-type': a.type,
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cross-origin-opener-policy': 'same-origin',
        'cache-control': 'no-cache',
      })
      .send(a.body);
  }
}
