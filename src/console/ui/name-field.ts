import { h, replace } from "./dom.js";

/** The longest name the IAM API accepts (`src/iam/iam-service.ts`). */
export const NAME_MAX = 128;

/** A name input with its label, its limit in words, and a visible refusal of anything longer. */
export interface NameField {
  element: HTMLElement;
  input: HTMLInputElement;
  /** The trimmed name; throws the sentence shown under the field when it is empty or too long. */
  value(): string;
  reset(): void;
  /** Marks the field as refused, with `reason` under it, until it is edited. */
  refuse(reason: string): void;
}

export function nameField(id: string, label: string, placeholder: string, initial = ""): NameField {
  const hintId = `${id}-hint`;
  const input = h("input", {
    id,
    name: "name",
    placeholder,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": hintId,
  });
  input.value = initial;
  const hint = h("span", { id: hintId, class: "field-hint" });
  const show = () => {
    const length = input.value.trim().length;
    const over = length > NAME_MAX;
    if (over) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    hint.classList.toggle("invalid", over);
    replace(
      hint,
      over
        ? `Too long: ${length} characters, at most ${NAME_MAX}. Shorten it; nothing is cut off for you.`
        : `1 to ${NAME_MAX} characters${length > 0 ? ` (${length} so far)` : ""}.`,
    );
  };
  input.addEventListener("input", show);
  show();
  return {
    element: h("div", { class: "field" }, h("label", { for: id }, label), input, hint),
    input,
    value() {
      const name = input.value.trim();
      show();
      if (name.length > NAME_MAX) {
        input.focus();
        throw new Error(`The name is ${name.length} characters long; names are at most ${NAME_MAX}.`);
      }
      if (name === "") {
        input.focus();
        throw new Error(`Enter a name (1 to ${NAME_MAX} characters).`);
      }
      return name;
    },
    reset() {
      input.value = "";
      show();
    },
    refuse(reason) {
      input.setAttribute("aria-invalid", "true");
      hint.classList.add("invalid");
      replace(hint, reason);
      input.focus();
    },
  };
}
