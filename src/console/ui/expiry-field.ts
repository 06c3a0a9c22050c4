import { h } from "./dom.js";

const DAY = 86_400_000;
const pad = (n: number) => String(n).padStart(2, "0");
const localDate = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

const CHOICES: Array<[string, string]> = [
  ["30", "In 30 days"],
  ["90", "In 90 days"],
  ["365", "In 1 year"],
  ["date", "On a date…"],
  ["never", "Never"],
];

/** A token's expiry: 90 days unless chosen otherwise; "never" says what it risks. */
export interface ExpiryField {
  element: HTMLElement;
  select: HTMLSelectElement;
  date: HTMLInputElement;
  /** The chosen expiry as RFC 3339, or undefined for none; throws when a date is missing. */
  value(): string | undefined;
  reset(): void;
}

export function expiryField(id: string): ExpiryField {
  const select = h(
    "select",
    { id, name: "expiry" },
    ...CHOICES.map(([value, label]) => h("option", { value }, label)),
  );
  const date = h("input", {
    id: `${id}-date`,
    type: "date",
    hidden: true,
    "aria-label": "Expiry date",
    min: localDate(new Date(Date.now() + DAY)),
  });
  const warning = h(
    "p",
    { id: `${id}-warning`, class: "field-warning", hidden: true },
    "A token that never expires works until someone deletes it, even if it leaks. Prefer an expiry, and rotate it.",
  );
  const sync = () => {
    date.hidden = select.value !== "date";
    warning.hidden = select.value !== "never";
  };
  select.addEventListener("change", sync);
  const reset = () => {
    select.value = "90";
    date.value = "";
    sync();
  };
  reset();
  return {
    element: h(
      "div",
      { class: "field" },
      h("label", { for: id }, "Expires"),
      h("div", { class: "expiry-inputs" }, select, date),
      warning,
    ),
    select,
    date,
    value() {
      if (select.value === "never") return undefined;
      if (select.value !== "date") return new Date(Date.now() + Number(select.value) * DAY).toISOString();
      if (!date.value || date.value < date.min) {
        date.focus();
        throw new Error(`Choose an expiry date from ${date.min} on.`);
      }
      return new Date(`${date.value}T23:59:59`).toISOString();
    },
    reset,
  };
}
