import { api, type RoleBinding, type ServiceAccount, type Token } from "../api.js";
import { isAlreadyExists } from "../feedback.js";

/** What the guided flow asks for: an account (an existing id, or a name to create), a role, a token. */
export interface ConnectRequest {
  projectId: string;
  projectName: string;
  account: { id: string } | { newName: string };
  role: "writer" | "profile-writer";
  tokenName: string;
  expiresAt: string | undefined;
}

/** What each step did, for the person to read, and what came of it. */
export interface ConnectProgress {
  account(serviceAccount: ServiceAccount, created: boolean): void;
  binding(text: string): void;
}

/**
 * Runs the guided flow: creates the account when asked, binds the role on the project (an
 * existing identical binding counts as done), creates the token. Each step is the admin API's
 * own call, so each is authorized, audited and refused as there; a failure stops the flow and
 * what was done stays done (running it again reuses the account).
 */
export async function connectAgent(
  request: ConnectRequest,
  accounts: readonly ServiceAccount[],
  progress: ConnectProgress,
): Promise<{ account: ServiceAccount; token: Token }> {
  let account: ServiceAccount;
  if ("newName" in request.account) {
    ({ serviceAccount: account } = await api<{ serviceAccount: ServiceAccount }>("POST", "service-accounts", {
      name: request.account.newName,
    }));
    progress.account(account, true);
  } else {
    const id = request.account.id;
    const existing = accounts.find((a) => a.id === id);
    if (!existing) throw new Error("Choose a service account.");
    account = existing;
    progress.account(account, false);
  }
  const where = `on project “${request.projectName}”`;
  try {
    await api<{ roleBinding: RoleBinding }>("POST", "role-bindings", {
      serviceAccountId: account.id,
      role: request.role,
      projectId: request.projectId,
    });
    progress.binding(`Role ${request.role} granted to “${account.name}” ${where}.`);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    progress.binding(`“${account.name}” already had role ${request.role} ${where}.`);
  }
  const { token } = await api<{ token: Token }>(
    "POST",
    `service-accounts/${encodeURIComponent(account.id)}/tokens`,
    { name: request.tokenName, ...(request.expiresAt ? { expiresAt: request.expiresAt } : {}) },
  );
  return { account, token };
}
