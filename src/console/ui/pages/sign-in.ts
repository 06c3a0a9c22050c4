import { api, type Me } from "../api.js";
import { h, replace } from "../dom.js";
import { session } from "../session.js";
import { errorLine } from "../widgets.js";

/** The sign-in page: paste a token; it is checked with /api/whoami before the console opens. */
export function signInPage(root: HTMLElement, message: string | undefined, onSignedIn: () => void): void {
  const error = errorLine();
  const token = h("input", {
    id: "token",
    name: "token",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "psc_v1_…",
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card sign-in" },
    h("h1", {}, "Sign in to the profgate console"),
    h(
      "p",
      { class: "lead" },
      "Paste a service account token: an owner's for full control, a viewer's to look without changing anything.",
    ),
    h("label", { for: "token" }, "Token"),
    token,
    error.element,
    submit,
    h(
      "p",
      { class: "hint" },
      "The token stays in this browser tab only (session storage) and is sent with each request; closing the tab or signing out forgets it. The bootstrap owner's token is in the gateway's data directory, owner.token.",
    ),
  );
  if (message) error.show(new Error(message));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.clear();
    submit.disabled = true;
    session.signIn(token.value.trim());
    try {
      await api<Me>("GET", "whoami");
      token.value = "";
      onSignedIn();
    } catch (e) {
      session.signOut();
      error.show(e);
    } finally {
      submit.disabled = false;
    }
  });
  replace(root, h("main", { class: "sign-in-page" }, form));
  document.title = "Sign in · profgate console";
  token.focus();
}
