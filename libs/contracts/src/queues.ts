import type { UsageEvent } from './events.js';

/**
 * The queue contract: every queue name and the payload type of every job, in one place (`JobItemMap`: the
 * platform's QueueService takes and hands out only these). Payloads carry ids, never ciphertexts, rows or keys
 * (BullMQ stores them in Redis); a usage event carries ids and counts only (events.ts).
 */
export const QueueName = {
  /** Encryption tasks for one provider connector: `encrypt.<connectorId>`. */
  encrypt: (connectorId: string) => `encrypt.${connectorId}`,
  evaluate: 'evaluate',
  ledger: 'ledger-events',
} as const;

export const JobName = {
  encryptInputs: 'encrypt-inputs',
  evaluate: 'evaluate',
  ledgerEvent: 'ledger-event',
} as const;

export interface EncryptTaskPayload {
  jobId: string;
  role: string;
  datasetId: string;
  /** Claimed by the broker; the connector re-checks it against its own policy. */
  consumerId: string;
  purpose: string;
}

export interface EvaluatePayload {
  jobId: string;
}

export interface JobItemMap {
  [JobName.encryptInputs]: EncryptTaskPayload;
  [JobName.evaluate]: EvaluatePayload;
  [JobName.ledgerEvent]: UsageEvent;
}

/** A job's name (`JobName`): the key of its payload type in `JobItemMap`. */
export type JobNameOf = keyof JobItemMap;
