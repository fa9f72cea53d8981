import type { DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LedgerRecorder, type PlatformDeps } from '#platform';
import { BrokerModule } from '../../broker/src/broker.module.js';
import { ConnectorGateway } from '../../broker/src/connector/connector-gateway.service.js';
import { HttpBrokerLink } from '../../provider/src/broker-link.js';
import { type BrokerBinding, ProviderModule } from '../../provider/src/provider.module.js';
import { LedgerModule } from '../../ledger/src/ledger.module.js';
import { WorkerModule } from '../../worker/src/worker.module.js';

export const APP_NAMES = ['provider', 'broker', 'ledger', 'worker'] as const;
export type AppName = (typeof APP_NAMES)[number];

/**
 * How the provider connector reaches the broker (the composition root wires the two apps; neither imports the
 * other). Over HTTP (BROKER_URL with its CONNECTOR_TOKEN) when it runs apart with its own database; otherwise
 * directly, through the broker's ConnectorGateway on the database it shares with the broker (the embedded
 * default, or several processes on one database).
 */
export function brokerBinding(deps: PlatformDeps, brokerInProcess: boolean): BrokerBinding {
  const { BROKER_URL: url, CONNECTOR_TOKEN: token } = deps.config;
  if (!brokerInProcess && !!url !== !!token) {
    throw new Error(
      'a provider connector that reaches the broker over HTTP needs both BROKER_URL and CONNECTOR_TOKEN (dataspace participants add --role connector)',
    );
  }
  if (!brokerInProcess && url && token) return { useValue: new HttpBrokerLink(url, token) };
  return {
    useFactory: (ds: DataSource, ledger: LedgerRecorder) => new ConnectorGateway(ds, ledger),
    inject: [DataSource, LedgerRecorder],
  };
}

/** The Nest modules of the selected apps. */
export function appModules(apps: readonly AppName[], deps: PlatformDeps): DynamicModule[] {
  const mods: DynamicModule[] = [];
  if (apps.includes('broker')) mods.push(BrokerModule.forRoot(deps));
  if (apps.includes('worker')) mods.push(WorkerModule.forRoot(deps));
  if (apps.includes('provider')) mods.push(ProviderModule.forRoot(deps, { broker: brokerBinding(deps, apps.includes('broker')) }));
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
