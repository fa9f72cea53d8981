/**
 * The module boundaries ESLint enforces (eslint.config.js, docs/ARCHITECTURE.md): no app imports another (apps/cli,
 * the composition root, may), no lib imports an app, and a lib is imported only through its `#alias`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const cwd = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd });

async function restricted(filePath: string, source: string): Promise<string[]> {
  const [r] = await eslint.lintText(`import { x } from '${source}';\nexport const y = x;\n`, { filePath });
  return r!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('module boundaries (eslint no-restricted-imports)', () => {
  const refused: [string, string][] = [
    ['apps/broker/src/connector/x.ts', '../../../provider/src/ports.js'],
    ['apps/provider/src/x.ts', '../../broker/src/connector/connector-gateway.service.js'],
    ['apps/provider/src/encryption/x.ts', '../../../ledger/src/ledger.service.js'],
    ['apps/ledger/src/x.ts', '../../broker/src/broker.module.js'],
    ['apps/broker/src/x.ts', '../../cli/src/server.js'],
    ['apps/broker/src/x.ts', '../../../libs/scenario/src/compiler/compile.js'],
    ['apps/cli/src/x.ts', '../../../libs/contracts/src/connector.js'],
    ['apps/provider/src/x.ts', '#scenario/compiler'],
    ['libs/contracts/src/x.ts', '../../scenario/src/types.js'],
    ['libs/platform/src/x.ts', '../../../apps/broker/src/broker.module.js'],
    ['libs/scenario/src/x.ts', '@nestjs/common'],
    ['libs/jobs/src/x.ts', 'typeorm'],
    ['apps/broker/src/main.ts', '../../cli/src/apps.js'],
    ['apps/broker/src/main.ts', '../../provider/src/provider.module.js'],
    ['apps/worker/src/main.ts', '../../cli/src/server.js'],
    ['apps/worker/src/main.ts', '../../broker/src/broker.module.js'],
    ['apps/worker/src/evaluation/x.ts', '../../../broker/src/connector/connector-gateway.service.js'],
    ['apps/worker/src/x.ts', '../../broker/src/jobs/jobs.service.js'],
    ['apps/broker/src/jobs/x.ts', '../../../worker/src/evaluation/evaluate-job.js'],
    ['apps/broker/src/x.main.ts', '../../cli/src/run-apps.js'],
    ['apps/provider/src/main.ts', '../../../libs/jobs/src/index.js'],
    ['apps/ledger/src/x.ts', '../../cli/src/run-apps.js'],
    ['libs/jobs/src/x.ts', '../../persistence/src/entities.js'],
    ['libs/job-flow/src/x.ts', 'bullmq'],
    ['libs/job-flow/src/x.ts', '../../../apps/broker/src/jobs/jobs.service.js'],
    ['libs/job-flow/src/x.ts', '../../jobs/src/index.js'],
  ];
  for (const [file, source] of refused) {
    it(`refuses ${source} in ${file}`, async () => {
      assert.notDeepEqual(await restricted(file, source), [], 'no error reported');
    });
  }

  const allowed: [string, string][] = [
    ['apps/cli/src/apps.ts', '../../broker/src/broker.module.js'],
    ['apps/cli/src/apps.ts', '../../provider/src/broker-link.js'],
    ['apps/broker/src/connector/x.ts', '../jobs/jobs.service.js'],
    ['apps/provider/src/x.ts', '#contracts'],
    ['libs/scenario/src/compiler/x.ts', '../validate/index.js'],
    ['libs/platform/src/x.ts', '@nestjs/common'],
    ['apps/broker/src/x.ts', '#jobs'],
    ['apps/broker/src/main.ts', '../../cli/src/run-apps.js'],
    ['apps/worker/src/main.ts', '../../cli/src/run-apps.js'],
    ['apps/cli/src/apps.ts', '../../worker/src/worker.module.js'],
    ['apps/worker/src/evaluation/x.ts', '#job-flow'],
    ['apps/ledger/src/main.ts', '../../cli/src/run-apps.js'],
    ['libs/jobs/src/x.ts', '#contracts'],
    ['libs/job-flow/src/x.ts', 'typeorm'],
    ['libs/job-flow/src/x.ts', '#platform'],
    ['apps/broker/src/jobs/x.ts', '#job-flow'],
  ];
  for (const [file, source] of allowed) {
    it(`allows ${source} in ${file}`, async () => {
      assert.deepEqual(await restricted(file, source), []);
    });
  }
});
