import { ApiError } from "./api.js";
import { h, replace } from "./dom.js";

const TOAST_MS = 6000;

/** Says that something worked, in a polite live region that empties itself after a few seconds. */
export function toast(message: string): void {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(region);
  }
  const item = h("p", { class: "toast" }, message);
  region.appendChild(item);
  setTimeout(() => item.remove(), TOAST_MS);
}

/** Marks the row of `id` in `root` as just created, and brings it into view. */
export function highlightRow(root: ParentNode, id: string): void {
  const row = root.querySelector<HTMLElement>(`tr[data-id="${CSS.escape(id)}"]`);
  if (!row) return;
  row.classList.add("new");
  row.scrollIntoView({ block: "nearest" });
}

/** The sentence of anything thrown, as the person should read it. */
export function messageOf(error: unknown): string {
  return error instanceof ApiError || error instanceof Error ? error.message : "Something went wrong.";
}

/** Whether the API refused because the thing exists already (a name taken, a binding there). */
export function isAlreadyExists(error: unknown): error is ApiError {
  return error instanceof ApiError && error.code === "ALREADY_EXISTS";
}

/**
 * Runs `load` for a card; when it fails, the card says why and offers to try again, rather than
 * staying empty.
 */
export async function loadOrRetry(card: HTMLElement, what: string, load: () => Promise<void>): Promise<void> {
  try {
    await load();
  } catch (error) {
    const retry = h("button", { type: "button", class: "secondary small" }, "Retry");
    retry.addEventListener("click", () => {
      retry.disabled = true;
      void loadOrRetry(card, what, load);
    });
    replace(
      card,
      h(
        "div",
        { class: "load-failed", role: "alert" },
        h("p", {}, `Could not load ${what}: ${messageOf(error)}`),
        retry,
      ),
    );
  }
}
