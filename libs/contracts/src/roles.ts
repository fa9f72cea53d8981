export const ROLES = ['admin', 'provider', 'consumer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal { id: string; name: string; role: Role }
