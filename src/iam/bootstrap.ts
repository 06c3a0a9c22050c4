import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DomainError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic-file.js";
import type { IamService } from "./iam-service.js";
import type { IamStore } from "./store/iam-store.js";

/** The ids written to `<data-dir>/bootstrap.json`: never a secret. */
export interface BootstrapInfo {
  organizationId: string;
  projectId: string;
  ownerServiceAccountId: string;
  agentServiceAccountId: string;
}

export interface BootstrapResult {
  created: boolean;
  info?: BootstrapInfo;
  ownerTokenFile: string;
  agentTokenFile: string;
}

/**
 * On first start with an empty store: organization `default` (the installation's), project
 * `default`, service account `owner` (role owner) and `agent` (role writer on the project),
 * one token each written to `owner.token` / `agent.token` (mode 0600, the token and a newline).
 * A store that already has an organization is left untouched; so is one that another replica
 * sharing it bootstrapped at the same moment (only one installation organization can exist).
 * Nothing bootstraps a second time, so `owner` is protected like any organization's last owner
 * (`store/owner-guard.ts`): it stays until another owner of the installation has a token.
 */
export async function bootstrapInstallation(
  iam: IamService,
  store: IamStore,
  dataDir: string,
): Promise<BootstrapResult> {
  const ownerTokenFile = join(dataDir, "owner.token");
  const agentTokenFile = join(dataDir, "agent.token");
  const infoFile = join(dataDir, "bootstrap.json");
  const existing = async (): Promise<BootstrapResult> => {
    const info = await readFile(infoFile, "utf8").then(
      (text) => JSON.parse(text) as BootstrapInfo,
      () => undefined,
    );
    return { created: false, ...(info ? { info } : {}), ownerTokenFile, agentTokenFile };
  };
  if ((await store.listOrganizations()).length > 0) return existing();
  let created: Awaited<ReturnType<IamService["createOrganization"]>>;
  try {
    created = await iam.createOrganization(undefined, "default", { installation: true });
  } catch (error) {
    // Another replica sharing the store bootstrapped it first.
    if (error instanceof DomainError && error.reason === "installation_exists") return existing();
    throw error;
  }
  const { organization, owner, ownerToken } = created;
  const founder = {
    organizationId: organization.id,
    serviceAccountId: owner.id,
    grants: [{ role: "owner" as const }],
  };
  const project = await iam.createProject(founder, "default");
  const agent = await iam.createServiceAccount(founder, "agent");
  await iam.createRoleBinding(founder, { serviceAccountId: agent.id, role: "writer", projectId: project.id });
  const agentToken = await iam.createToken(founder, { serviceAccountId: agent.id, name: "agent" });
  await writeFileAtomic(ownerTokenFile, `${ownerToken.secret}\n`);
  await writeFileAtomic(agentTokenFile, `${agentToken.secret}\n`);
  const info: BootstrapInfo = {
    organizationId: organization.id,
    projectId: project.id,
    ownerServiceAccountId: owner.id,
    agentServiceAccountId: agent.id,
  };
  await writeFileAtomic(infoFile, `${JSON.stringify(info, null, 2)}\n`);
  return { created: true, info, ownerTokenFile, agentTokenFile };
}
