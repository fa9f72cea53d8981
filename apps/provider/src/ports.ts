/**
 * What the provider connector needs from the broker. In the embedded default both run in one process
 * on one database and these are direct calls (broker-link.ts); a connector deployed apart implements the
 * same port over HTTP.
 */
export interface OfferDocument {
  datasetId: string;
  providerId: string;
  connectorId: string;
  name: string;
  description: string;
  columns: Record<string, unknown>;
  policy: Record<string, unknown>;
  rowCount: number;
}

export interface JobForProvider {
  id: string;
  consumerId: string;
  purpose: string;
  status: string;
  scenarioId: string;
  /** The scenario version the job runs (absent from an older broker: a policy with a scenario allowlist then refuses). */
  scenarioVersion?: number;
  bindings: Record<string, string>;
  plan: Record<string, unknown>;
  /** The scenario document at the job's version (the connector re-checks its policy against it). */
  scenario: unknown;
  keysetId: string;
  /** The job was accepted with its row counts withheld from the consumer (a bound dataset's policy): record none. */
  countsWithheld?: boolean;
}

/** A part of a role's upload: for each feature, saved ciphertexts from chunk index `first` on. */
export interface UploadPart {
  features: { id: string; first: number; chunks: Uint8Array[] }[];
}

export interface UploadedInputs {
  meta: {
    rows: number;
    groupCounts: Record<string, number[]>;
    missingKeys: number;
    skippedRows: number;
    ciphertexts: number;
    bytes: number;
  };
}

export abstract class BrokerLink {
  /** The connector id the broker binds this link's credential to (null in process: no credential is used). */
  abstract boundConnectorId(): Promise<string | null>;
  abstract publishOffer(o: OfferDocument): Promise<void>;
  abstract job(jobId: string): Promise<JobForProvider | null>;
  abstract publicKeyset(keysetId: string): Promise<Uint8Array>;
  /** Staged upload: begin (clears an interrupted attempt), parts, then commit (replaces the role's set, never duplicates). */
  abstract beginUpload(jobId: string, role: string): Promise<void>;
  abstract uploadPart(jobId: string, role: string, part: UploadPart): Promise<void>;
  abstract commitUpload(jobId: string, role: string, meta: UploadedInputs['meta']): Promise<void>;
  abstract reportProgress(jobId: string, role: string, progress: Record<string, unknown>): Promise<void>;
  abstract reportRefusal(jobId: string, role: string, reasons: { code: string; message: string }[]): Promise<void>;
  abstract reportFailure(jobId: string, role: string, message: string): Promise<void>;
  /**
   * Private set intersection through the broker (blinded point batches only, never an id): post set `set` carrying
   * `keys` keys (this role's own set with 1, or a set it re-blinded); fetch a set it must re-blind next (null until
   * posted); fetch the positions of its own matched points once the broker has intersected (null until then).
   */
  abstract psiSubmit(jobId: string, role: string, set: number, keys: number, points: Uint8Array): Promise<void>;
  abstract psiTask(jobId: string, role: string, set: number, keys: number): Promise<Uint8Array | null>;
  abstract psiMatches(jobId: string, role: string): Promise<number[] | null>;
}
