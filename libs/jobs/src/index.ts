/**
 * The broker's job domain: a stored job read into a typed `JobRecord` (its plan validated), the one writer of a
 * job's status (`transition`) and whether a job's counts are withheld (`countsWithheld`). The states and the transition table themselves are in `#contracts` (job-status.ts),
 * shared with provider connectors and the SDK. Pure: no Nest, TypeORM or BullMQ.
 */
export { type JobRecord, JobRecordError, type StoredJob, readJobRecord } from './job-record.js';
export { JobTransitionError, transition } from './transition.js';
export { jobFailedEvent } from './events.js';
export { countsWithheld } from './counts.js';
