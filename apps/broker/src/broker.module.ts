import { type DynamicModule, Module } from '@nestjs/common';
import { JobOrchestrator } from '#job-flow';
import type { PlatformDeps } from '#platform';
import { CatalogController } from './catalog/catalog.controller.js';
import { CatalogService } from './catalog/catalog.service.js';
import { ConnectorAccess } from './connector/connector-access.service.js';
import { ConnectorController } from './connector/connector.controller.js';
import { ConnectorGateway } from './connector/connector-gateway.service.js';
import { JobsController } from './jobs/jobs.controller.js';
import { JobsService } from './jobs/jobs.service.js';
import { KeysetsController } from './keysets/keysets.controller.js';
import { KeysetsService } from './keysets/keysets.service.js';
import { ParticipantsController } from './participants/participants.controller.js';
import { BuiltinScenarios } from './scenarios/builtin-scenarios.js';
import { ScenarioRegistry } from './scenarios/scenario-registry.service.js';
import { SchemasController } from './scenarios/schemas.controller.js';
import { ScenariosController } from './scenarios/scenarios.controller.js';

const services = [CatalogService, ConnectorGateway, JobOrchestrator, JobsService, KeysetsService, ScenarioRegistry];

/** The computation broker's API: participants, catalog, scenario registry, keysets, jobs. */
@Module({})
export class BrokerModule {
  static forRoot(_deps: PlatformDeps): DynamicModule {
    return {
      module: BrokerModule,
      controllers: [
        ParticipantsController,
        CatalogController,
        ScenariosController,
        SchemasController,
        KeysetsController,
        JobsController,
        ConnectorController,
      ],
      providers: [...services, BuiltinScenarios, ConnectorAccess],
      exports: services,
    };
  }
}
