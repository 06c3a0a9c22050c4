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
 * the visible label alone would be ambiguous ("Copy ID of project production").
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
  button.addEventListener("click", async () => {
    const done = await writeClipboard(text(), options.source);
    replace(button, done ? "Copied" : "Press Ctrl+C");
    setTimeout(() => replace(button, label), 1500);
  });
  return button;
}
