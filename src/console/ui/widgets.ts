import { ApiError } from "./api.js";
import { append, h, replace } from "./dom.js";

/** An error line (role=alert) that shows the API's sentence, and hides when cleared. */
export function errorLine(): { element: HTMLParagraphElement; show(error: unknown): void; clear(): void } {
  const element = h("p", { class: "error", role: "alert", hidden: true });
  return {
    element,
    show(error) {
      const text =
        error instanceof ApiError || error instanceof Error ? error.message : "Something went wrong.";
      replace(element, text);
      element.hidden = false;
    },
    clear() {
      replace(element);
      element.hidden = true;
    },
  };
}

/**
 * Asks before a deletion, in a modal dialog that names what goes with it. Resolves true when
 * the person confirms.
 */
export function confirmDialog(title: string, message: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    const confirm = h("button", { type: "button", class: "danger" }, action);
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title),
      h("p", {}, message),
      h("div", { class: "actions" }, cancel, confirm),
    );
    let answer = false;
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

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

/** A button that copies `text()` to the clipboard and says so. */
export function copyButton(
  text: () => string,
  label = "Copy",
  source?: HTMLInputElement | HTMLTextAreaElement,
  size = "",
): HTMLButtonElement {
  const button = h("button", { type: "button", class: `copy secondary ${size}`.trim() }, label);
  button.addEventListener("click", async () => {
    const done = await writeClipboard(text(), source);
    replace(button, done ? "Copied" : "Press Ctrl+C");
    setTimeout(() => replace(button, label), 1500);
  });
  return button;
}

/** A table with a header row; `empty` shown as one row when there are no rows. */
export function table(headers: string[], rows: HTMLTableRowElement[], empty: string): HTMLTableElement {
  const body = h("tbody");
  if (rows.length === 0)
    append(body, h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, empty)));
  else append(body, ...rows);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", { scope: "col" }, t)))),
    body,
  );
}

/** Disables `controls` when the caller lacks `permission`, saying which permission. */
export function guard(allowed: boolean, permission: string, ...controls: HTMLElement[]): void {
  if (allowed) return;
  for (const control of controls) {
    control.setAttribute("disabled", "");
    control.title = `Your role does not grant ${permission}.`;
  }
}

/** The heading of a page: title, an optional quota badge and a one-line lead. */
export function pageHead(title: string, lead: string, quota?: string): HTMLElement {
  return h(
    "header",
    { class: "page-head" },
    h("div", { class: "title-row" }, h("h1", {}, title), quota ? h("span", { class: "quota" }, quota) : null),
    h("p", { class: "lead" }, lead),
  );
}

/** The name field of a create form. */
export function nameInput(id: string, placeholder: string): HTMLInputElement {
  return h("input", { id, name: "name", required: true, maxlength: 128, placeholder, autocomplete: "off" });
}

/**
 * Runs `action` when `form` is submitted: the error line cleared, `button` disabled while it
 * runs (and after, unless `allowed`), a failure shown on the error line.
 */
export function onSubmit(
  form: HTMLFormElement,
  button: HTMLButtonElement,
  allowed: boolean,
  error: ReturnType<typeof errorLine>,
  action: () => Promise<unknown>,
): void {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.clear();
    button.disabled = true;
    try {
      await action();
    } catch (e) {
      error.show(e);
    } finally {
      button.disabled = !allowed;
    }
  });
}

/**
 * A row's Delete button, disabled without `permission`: asks with `confirm` (the dialog's title,
 * message and action), then runs `action`, showing a failure on the error line.
 */
export function deleteButton(
  allowed: boolean,
  permission: string,
  error: ReturnType<typeof errorLine>,
  confirm: () => [title: string, message: string, action: string],
  action: () => Promise<unknown>,
): HTMLButtonElement {
  const remove = h("button", { type: "button", class: "danger small" }, "Delete");
  guard(allowed, permission, remove);
  remove.addEventListener("click", async () => {
    if (!(await confirmDialog(...confirm()))) return;
    error.clear();
    await action().catch(error.show);
  });
  return remove;
}

/** A note for a form the caller may not use. */
export function readOnlyNote(allowed: boolean, what: string, permission: string): HTMLElement | null {
  return allowed
    ? null
    : h("p", { class: "note" }, `Read-only: your role cannot ${what} (it needs ${permission}).`);
}
