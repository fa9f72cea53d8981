export * from './errors.js';
export * from './queues.js';
export * from './events.js';
export * from './roles.js';
export * from './connector.js';
export * from './job-status.js';
export * from './job-document.js';
