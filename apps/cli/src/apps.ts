import type { DynamicModule } from '@nestjs/common';
import type { PlatformDeps } from '#platform';
import { BrokerModule } from '../../broker/src/broker.module.js';
import { WorkerModule } from '../../broker/src/worker.module.js';
import { ProviderModule } from '../../provider/src/provider.module.js';
import { LedgerModule } from '../../ledger/src/ledger.module.js';

export const APP_NAMES = ['provider', 'broker', 'ledger', 'worker'] as const;
export type AppName = (typeof APP_NAMES)[number];

/** The Nest modules of the selected apps. */
export function appModules(apps: readonly AppName[], deps: PlatformDeps): DynamicModule[] {
  const mods: DynamicModule[] = [];
  if (apps.includes('broker')) mods.push(BrokerModule.forRoot(deps));
  if (apps.includes('worker')) mods.push(WorkerModule.forRoot(deps));
  if (apps.includes('provider')) mods.push(ProviderModule.forRoot(deps, { brokerInProcess: apps.includes('broker') }));
  if (apps.includes('ledger')) mods.push(LedgerModule.forRoot(deps));
  return mods;
}

export function parseApps(spec: string): AppName[] {
  if (spec === 'all') return [...APP_NAMES];
  const parts = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = parts.filter((p) => !(APP_NAMES as readonly string[]).includes(p));
  if (bad.length || parts.length === 0)
    throw new Error(`--apps: unknown app ${bad.join(', ') || '(none)'}; use all or a list of ${APP_NAMES.join(', ')}`);
  return [...new Set(parts)] as AppName[];
}
