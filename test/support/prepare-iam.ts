import { join } from "node:path";
import type { Actor } from "../../src/iam/actor.js";
import { bootstrapInstallation } from "../../src/iam/bootstrap.js";
import { IamEvents } from "../../src/iam/iam-events.js";
import { IamService } from "../../src/iam/iam-service.js";
import type { Role } from "../../src/iam/model.js";
import { EmbeddedIamStore } from "../../src/iam/store/embedded-store.js";

/** The extra identities an end-to-end test prepares before starting the gateway. */
export interface PreparedIam {
  organizationId: string;
  projectId: string;
  otherProjectId: string;
  foreignProjectId: string;
  tokens: Record<"agent" | "owner" | "viewer" | "profileWriter" | "otherProjectWriter" | "foreign", string>;
}

/**
 * Bootstraps a data dir with the IAM module, as the gateway's first start would, then adds:
 * a second project, a viewer, a profile-writer, a writer scoped to the second project, and a
 * second organization with its own project and writer.
 */
export async function prepareIam(dataDir: string): Promise<PreparedIam> {
  const store = await EmbeddedIamStore.open(dataDir);
  try {
    const iam = new IamService(store, { events: new IamEvents() });
    const boot = await bootstrapInstallation(iam, store, dataDir);
    const info = boot.info!;
    const owner: Actor = {
      organizationId: info.organizationId,
      serviceAccountId: info.ownerServiceAccountId,
      grants: [{ role: "owner" }],
    };
    const otherProject = await iam.createProject(owner, "other");
    const withRole = async (actor: Actor, name: string, role: Role, projectId?: string) => {
      const sa = await iam.createServiceAccount(actor, name);
      await iam.createRoleBinding(actor, {
        serviceAccountId: sa.id,
        role,
        ...(projectId ? { projectId } : {}),
      });
      return (await iam.createToken(actor, { serviceAccountId: sa.id, name })).secret;
    };
    const foreign = await iam.createOrganization(undefined, "foreign");
    const foreignOwner: Actor = {
      organizationId: foreign.organization.id,
      serviceAccountId: foreign.owner.id,
      grants: [{ role: "owner" }],
    };
    const foreignProject = await iam.createProject(foreignOwner, "foreign");
    const read = async (file: string) =>
      (await import("node:fs/promises")).readFile(join(dataDir, file), "utf8");
    return {
      organizationId: info.organizationId,
      projectId: info.projectId,
      otherProjectId: otherProject.id,
      foreignProjectId: foreignProject.id,
      tokens: {
        agent: (await read("agent.token")).trim(),
        owner: (await read("owner.token")).trim(),
        viewer: await withRole(owner, "viewer", "viewer"),
        profileWriter: await withRole(owner, "profile-writer", "profile-writer", info.projectId),
        otherProjectWriter: await withRole(owner, "other-writer", "writer", otherProject.id),
        foreign: await withRole(foreignOwner, "foreign-writer", "writer", foreignProject.id),
      },
    };
  } finally {
    await store.close();
  }
}
