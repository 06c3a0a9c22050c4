/** Quotas of docs/iam-model.md. Stores enforce them atomically, under concurrency. */
export const QUOTAS = {
  serviceAccountsPerOrganization: 50,
  tokensPerServiceAccount: 100,
} as const;
export type Quotas = { [K in keyof typeof QUOTAS]: number };
