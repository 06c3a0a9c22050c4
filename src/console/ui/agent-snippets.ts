import { agentCommand, kubernetesManifest } from "./agent-setup.js";
import type { AgentEndpoint } from "./api.js";
import { copyButton } from "./copy-button.js";
import { h } from "./dom.js";

/** `text` as code, with every occurrence of `secret` in its own element (`.secret-text`). */
function code(text: string, secret: string | undefined): HTMLElement {
  if (!secret) return h("code", {}, text);
  const parts = text.split(secret);
  return h(
    "code",
    {},
    ...parts.flatMap((part, i) => (i === 0 ? [part] : [h("span", { class: "secret-text" }, secret), part])),
  );
}

function snippet(id: string, title: string, text: string, secret: string | undefined): HTMLElement {
  return h(
    "div",
    { class: "snippet" },
    h(
      "div",
      { class: "snippet-head" },
      h("h3", { id: `${id}-title` }, title),
      copyButton(() => text, "Copy", { name: `Copy ${title.toLowerCase()}` }),
    ),
    // Focusable, so that a keyboard can scroll what is wider than the screen.
    h("pre", { id, tabindex: 0, "aria-labelledby": `${id}-title` }, code(text, secret)),
  );
}

/**
 * The parca-agent command line and the Kubernetes Secret + DaemonSet for `projectId`, each with
 * a copy button; `token` filled in when there is one (ids `agent-command`, `agent-manifest`), a
 * placeholder otherwise (ids `…-template`, so that both can be on one page).
 */
export function agentSnippets(endpoint: AgentEndpoint, projectId: string, token?: string): HTMLElement {
  const suffix = token ? "" : "-template";
  return h(
    "div",
    { class: "snippets" },
    snippet(`agent-command${suffix}`, "Command line", agentCommand(endpoint, projectId, token), token),
    snippet(
      `agent-manifest${suffix}`,
      "Kubernetes Secret + DaemonSet",
      kubernetesManifest(endpoint, projectId, token),
      token,
    ),
  );
}
