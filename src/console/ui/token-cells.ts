import type { Token } from "./api.js";
import { h } from "./dom.js";
import { formatDate } from "./format.js";
import { relativeTime } from "./relative-time.js";

const DAY = 86_400_000;
/** A token expiring within this long is marked. */
const SOON = 14 * DAY;

/** When a token was last used: the date and how long ago, or "never". */
export function lastUsed(token: Token): HTMLElement {
  if (!token.lastUsedAt) return h("span", { class: "muted" }, "never");
  return h(
    "span",
    { title: token.lastUsedAt },
    `${formatDate(token.lastUsedAt)} (`,
    relativeTime(token.lastUsedAt),
    ")",
  );
}

/** When a token expires: "never", the date (marked when soon), or that it has expired. */
export function expiry(token: Token, now = Date.now()): HTMLElement {
  if (!token.expiresAt) return h("span", { class: "muted" }, "never");
  const at = Date.parse(token.expiresAt);
  if (at <= now)
    return h("span", { title: token.expiresAt, class: "expired" }, `expired ${formatDate(token.expiresAt)}`);
  if (at - now < SOON)
    return h(
      "span",
      { title: token.expiresAt, class: "expiring" },
      `${formatDate(token.expiresAt)} `,
      h("strong", { class: "expiring-badge" }, "expires soon"),
      " (",
      relativeTime(token.expiresAt),
      ")",
    );
  return h("span", { title: token.expiresAt }, formatDate(token.expiresAt));
}
