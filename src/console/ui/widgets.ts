import { append, h, replace } from "./dom.js";
import { messageOf } from "./feedback.js";

/** An error line (role=alert) that shows the API's sentence, and hides when cleared. */
export function errorLine(): { element: HTMLParagraphElement; show(error: unknown): void; clear(): void } {
  const element = h("p", { class: "error", role: "alert", hidden: true });
  return {
    element,
    show(error) {
      replace(element, messageOf(error));
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

/**
 * A table with a header row; `empty` shown as one row when there are no rows. Each cell carries
 * its column's name, which narrow screens show beside it when the rows stack.
 */
export function table(headers: string[], rows: HTMLTableRowElement[], empty: string): HTMLTableElement {
  const body = h("tbody", { role: "rowgroup" });
  if (rows.length === 0)
    append(
      body,
      h("tr", { role: "row" }, h("td", { colspan: headers.length, class: "empty", role: "cell" }, empty)),
    );
  for (const row of rows) {
    row.setAttribute("role", "row");
    [...row.cells].forEach((cell, i) => {
      cell.setAttribute("role", "cell");
      cell.dataset["label"] = headers[i] ?? "";
    });
    body.appendChild(row);
  }
  return h(
    "table",
    { class: "stack", role: "table" },
    h(
      "thead",
      { role: "rowgroup" },
      h("tr", { role: "row" }, ...headers.map((t) => h("th", { scope: "col", role: "columnheader" }, t))),
    ),
    body,
  );
}

/** A name that fits its column: cut with an ellipsis, the whole of it on hover and on focus. */
export function nameText(name: string): HTMLSpanElement {
  return h("span", { class: "name", title: name }, name);
}

/**
 * Disables `controls` when the caller lacks `permission`; they point to the note (`noteId`)
 * that says why in visible text.
 */
export function guard(
  allowed: boolean,
  permission: string,
  noteId: string,
  ...controls: HTMLElement[]
): void {
  if (allowed) return;
  for (const control of controls) {
    control.setAttribute("disabled", "");
    const described = control.getAttribute("aria-describedby");
    control.setAttribute("aria-describedby", described ? `${described} ${noteId}` : noteId);
    control.title = `Your role does not grant ${permission}.`;
  }
}

/** A button that reloads what a page shows. */
export function refreshButton(onClick: () => void): HTMLButtonElement {
  return h("button", { type: "button", class: "secondary small refresh", onclick: onClick }, "Refresh");
}

/** The heading of a page: title, an optional quota badge, a one-line lead, and its tools. */
export function pageHead(
  title: string,
  lead: string,
  options: { quota?: HTMLElement; tools?: HTMLElement[] } = {},
): HTMLElement {
  return h(
    "header",
    { class: "page-head" },
    h(
      "div",
      { class: "title-row" },
      h("h1", { tabindex: -1 }, title),
      options.quota ?? null,
      h("div", { class: "head-tools" }, ...(options.tools ?? [])),
    ),
    h("p", { class: "lead" }, lead),
  );
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
  form.noValidate = true;
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
      // A disabled button drops focus to the body; bring it back to the form's first field.
      if (document.activeElement === document.body || document.activeElement === null)
        (form.querySelector<HTMLElement>("input:not([type=hidden]), select") ?? button).focus();
    }
  });
}

/**
 * A row's Delete button, disabled without `permission`, named for its row (`name`, e.g. "Delete
 * service account agent"): asks with `confirm`, then runs `action`, a failure on the error line.
 */
export function deleteButton(
  options: { allowed: boolean; permission: string; noteId: string; name: string },
  error: ReturnType<typeof errorLine>,
  confirm: () => [title: string, message: string, action: string],
  action: () => Promise<unknown>,
): HTMLButtonElement {
  const remove = h("button", { type: "button", class: "danger small", "aria-label": options.name }, "Delete");
  guard(options.allowed, options.permission, options.noteId, remove);
  remove.addEventListener("click", async () => {
    if (!(await confirmDialog(...confirm()))) return;
    error.clear();
    await action().catch(error.show);
  });
  return remove;
}

/** A note for what the caller may not do, which disabled controls point to; null when allowed. */
export function readOnlyNote(
  id: string,
  allowed: boolean,
  what: string,
  permission: string,
): HTMLElement | null {
  return allowed
    ? null
    : h("p", { class: "note", id }, `Read-only: your role cannot ${what} (it needs ${permission}).`);
}
