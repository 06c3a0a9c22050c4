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
  /** Where the owner's token is: the file written to the data dir, or the operator's own. */
  ownerTokenFile: string;
  agentTokenFile: string;
}

/**
 * What an operator may provide instead of what the first start makes up: the tokens (files
 * holding one psc_v1 token each, typically a mounted Secret) and the default project's id, so
 * that agents can be configured before the gateway has started.
 */
export interface BootstrapProvided {
  ownerTokenFile?: string | undefined;
  agentTokenFile?: string | undefined;
  projectId?: string | undefined;
}

/**
 * On first start with an empty store: organization `default` (the installation's), project
 * `default`, service account `owner` (role owner) and `agent` (role writer on the project),
 * one token each written to `owner.token` / `agent.token` (mode 0600, the token and a newline),
 * unless the operator provided them ({@link BootstrapProvided}).
 * A store that already has an organization is left untouched; so is one that another replica
 * sharing it bootstrapped at the same moment (only one installation organization can exist).
 * Nothing bootstraps a second time, so `owner` is protected like any organization's last owner
 * (`store/owner-guard.ts`): it stays until another owner of the installation has a token.
 */
export async function bootstrapInstallation(
  iam: IamService,
  store: IamStore,
  dataDir: string,
  provided: BootstrapProvided = {},
): Promise<BootstrapResult> {
  const ownerTokenFile = provided.ownerTokenFile ?? join(dataDir, "owner.token");
  const agentTokenFile = provided.agentTokenFile ?? join(dataDir, "agent.token");
  const ownerSecret = provided.ownerTokenFile ? await readTokenFile(provided.ownerTokenFile) : undefined;
  const agentSecret = provided.agentTokenFile ? await readTokenFile(provided.agentTokenFile) : undefined;
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
    created = await iam.createOrganization(undefined, "default", {
      installation: true,
      ...(ownerSecret ? { ownerSecret } : {}),
    });
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
  const project = await iam.createProject(founder, "default", provided.projectId);
  const agent = await iam.createServiceAccount(founder, "agent");
  await iam.createRoleBinding(founder, { serviceAccountId: agent.id, role: "writer", projectId: project.id });
  const agentToken = await iam.createToken(
    founder,
    { serviceAccountId: agent.id, name: "agent" },
    agentSecret,
  );
  // A provided token stays where the operator keeps it: no second copy of the secret on disk.
  if (!ownerSecret) await writeFileAtomic(ownerTokenFile, `${ownerToken.secret}\n`);
  if (!agentSecret) await writeFileAtomic(agentTokenFile, `${agentToken.secret}\n`);
  const info: BootstrapInfo = {
    organizationId: organization.id,
    projectId: project.id,
    ownerServiceAccountId: owner.id,
    agentServiceAccountId: agent.id,
  };
  await writeFileAtomic(infoFile, `${JSON.stringify(info, null, 2)}\n`);
  return { created: true, info, ownerTokenFile, agentTokenFile };
}

/** The token in an operator's file (one psc_v1 token, surrounding whitespace ignored). */
async function readTokenFile(path: string): Promise<string> {
  return (await readFile(path, "utf8")).trim();
}
