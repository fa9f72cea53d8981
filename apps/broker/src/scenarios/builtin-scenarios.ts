import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { builtinScenarios } from '#scenario';
import { ScenarioRegistry } from './scenario-registry.service.js';

/** Registers the built-in catalog at start-up (a changed document becomes a new version). */
@Injectable()
export class BuiltinScenarios implements OnApplicationBootstrap {
  private readonly log = new Logger('scenarios');
  constructor(private readonly registry: ScenarioRegistry) {}

  async onApplicationBootstrap(): Promise<void> {
    let created = 0;
    for (const doc of builtinScenarios()) {
      const r = await this.registry.register(doc, { id: 'system', name: 'system', role: 'admin' }, { builtin: true });
      if (r.created) created++;
    }
    if (created) this.log.log(`registered ${created} built-in scenario version(s)`);
  }
}
