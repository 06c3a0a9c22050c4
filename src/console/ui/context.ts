import type { AgentEndpoint, Me, RoleInfo } from "./api.js";

/** What every page knows: the caller, its organization-wide permissions, the roles, the endpoint. */
export interface Context {
  me: Me;
  roles: RoleInfo[];
  endpoint: AgentEndpoint;
  /** Whether the caller holds `permission` organization-wide: what the console enables. */
  can(permission: string): boolean;
}

/** A page: fills `root` for the route's `arg` (an id, or undefined). */
export type Page = (context: Context, root: HTMLElement, arg: string | undefined) => Promise<void>;
