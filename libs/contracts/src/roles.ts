/** `connector`: a provider connector deployed apart from the broker (its service credential). */
export const ROLES = ['admin', 'provider', 'consumer', 'auditor', 'connector'] as const;
export type Role = (typeof ROLES)[number];

/** `connectorId`: for a `connector` credential, the one connector it acts for (CONNECTOR_ID of that deployment). */
export interface Principal {
  id: string;
  name: string;
  role: Role;
  connectorId?: string;
}
