import { h, replace } from "./dom.js";

async function writeClipboard(text: string, fallbackFrom?: HTMLInputElement | HTMLTextAreaElement) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain HTTP on a non-loopback host): copy the selection instead.
    if (!fallbackFrom) return false;
    fallbackFrom.select();
    return document.execCommand("copy");
  }
}

/**
 * A button that copies `text()` to the clipboard and says so. `name` is its accessible name when
 * the visible label alone would be ambiguous ("Copy ID of project production"); while the button
 * says "Copied" or "Press Ctrl+C", its name starts with those words too, so that what is seen is
 * what a screen reader or voice control names it.
 */
export function copyButton(
  text: () => string,
  label = "Copy",
  options: { source?: HTMLInputElement | HTMLTextAreaElement; size?: string; name?: string } = {},
): HTMLButtonElement {
  const button = h(
    "button",
    { type: "button", class: `copy secondary ${options.size ?? ""}`.trim(), "aria-label": options.name },
    label,
  );
  const say = (visible: string, name: string | undefined) => {
    replace(button, visible);
    if (name !== undefined) button.setAttribute("aria-label", name);
  };
  const name = options.name;
  button.addEventListener("click", async () => {
    const done = await writeClipboard(text(), options.source);
    if (done) say("Copied", name?.replace(/^Copy\b/, "Copied"));
    else say("Press Ctrl+C", name && `Press Ctrl+C to ${name.charAt(0).toLowerCase()}${name.slice(1)}`);
    setTimeout(() => say(label, name), 1500);
  });
  return button;
}
