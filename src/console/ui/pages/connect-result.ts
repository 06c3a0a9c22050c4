import { agentSnippets } from "../agent-snippets.js";
import type { Project, ServiceAccount, Token } from "../api.js";
import type { Context } from "../context.js";
import { h } from "../dom.js";
import { formatDate } from "../format.js";
import { secretBox } from "../secret-box.js";

/** What the guided flow ends with: the token, shown once, and the set-up with it filled in. */
export function connectResult(
  context: Context,
  project: Project,
  account: ServiceAccount,
  token: Token,
): HTMLElement {
  const validity = token.expiresAt ? `, valid until ${formatDate(token.expiresAt)}` : ", which never expires";
  return h(
    "section",
    { class: "card new-token", id: "connect-result", "aria-labelledby": "connect-result-title" },
    h("h2", { id: "connect-result-title", tabindex: -1 }, `Ready: run the agent for “${project.name}”`),
    h(
      "p",
      { class: "warning" },
      `This is the token “${token.name}” of “${account.name}”${validity}. Copy it now: it will not be shown again.`,
    ),
    secretBox(token.token),
    agentSnippets(context.endpoint, project.id, token.token),
  );
}
