import { AUDIT_COMMANDS } from "./audit-commands.js";
import type { IamCommand } from "./iam-context.js";
import { ORGANIZATION_COMMANDS } from "./organization-commands.js";
import { PROJECT_COMMANDS } from "./project-commands.js";
import { ROLE_BINDING_COMMANDS } from "./role-binding-commands.js";
import { SERVICE_ACCOUNT_COMMANDS } from "./service-account-commands.js";
import { TOKEN_COMMANDS } from "./token-commands.js";

export type { IamContext } from "./iam-context.js";

/** Every `profgate iam <resource> <verb>`, keyed by "resource verb"; one file per resource. */
export const IAM_COMMANDS: Record<string, IamCommand> = {
  ...ORGANIZATION_COMMANDS,
  ...PROJECT_COMMANDS,
  ...SERVICE_ACCOUNT_COMMANDS,
  ...ROLE_BINDING_COMMANDS,
  ...TOKEN_COMMANDS,
  ...AUDIT_COMMANDS,
};
