import { type DynamicModule, Module } from '@nestjs/common';
import type { PlatformDeps } from '#platform';
import { ParticipantsController } from './participants/participants.controller.js';

/** The computation broker: participants, catalog, scenario registry, keysets, jobs. */
@Module({})
export class BrokerModule {
  static forRoot(_deps: PlatformDeps): DynamicModule {
    return { module: BrokerModule, controllers: [ParticipantsController], providers: [] };
  }
}
