/**
 * The queue contract: every queue name and the payload type of every job, in one place.
 * Payloads carry ids, never ciphertexts, rows or keys (BullMQ stores them in Redis).
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
}
