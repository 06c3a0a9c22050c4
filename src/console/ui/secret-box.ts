import { copyButton } from "./copy-button.js";
import { h } from "./dom.js";

/** A new token in a read-only box (`#new-token`) that selects itself on focus, with a copy button. */
export function secretBox(secret: string): HTMLElement {
  const input = h("input", {
    id: "new-token",
    class: "secret",
    readonly: true,
    value: secret,
    spellcheck: "false",
    autocomplete: "off",
    "aria-label": "The new token",
  });
  input.addEventListener("focus", () => input.select());
  return h(
    "div",
    { class: "copy-row" },
    input,
    copyButton(() => input.value, "Copy", { source: input, name: "Copy the new token" }),
  );
}
