import type { Command } from 'commander';
import { DataspaceClient, ApiError } from '#sdk';
import { CliError } from './output.js';

export interface GlobalOpts {
  url: string;
  token?: string;
}

export function clientOf(cmd: Command): DataspaceClient {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  return new DataspaceClient({ url: g.url, token: g.token });
}

/** Maps SDK errors to one-line CLI errors with meaningful exit codes. */
export async function api<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError) {
      const d = (e.details as { path?: string; message?: string; code?: string }[])[0];
      const more = e.details.length > 1 ? ` (+${e.details.length - 1} more; use --json for all)` : '';
      const detail = d ? `: ${d.path ? d.path + ': ' : ''}${d.message ?? d.code ?? ''}${more}` : '';
      const err = new CliError(`${e.code}: ${e.message}${detail}`, e.status === 0 ? 3 : e.status >= 500 ? 4 : 1, {
        error: e.code,
        message: e.message,
        details: e.details,
      });
      (err as CliError & { api?: ApiError }).api = e;
      throw err;
    }
    throw e;
  }
}
