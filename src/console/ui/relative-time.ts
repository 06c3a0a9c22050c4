import { h } from "./dom.js";
import { formatDate, relative } from "./format.js";

const TICK_MS = 20_000;

/** A `<time>` saying `5 minutes ago` or `in 3 days`, kept current by `keepTimesCurrent`. */
export function relativeTime(iso: string): HTMLTimeElement {
  return h("time", { datetime: iso, title: formatDate(iso), "data-relative": "" }, relative(iso));
}

/** Rewrites every relative time on the page now and then, so that "just now" does not stay. */
export function keepTimesCurrent(): void {
  setInterval(() => {
    for (const time of document.querySelectorAll<HTMLTimeElement>("time[data-relative]")) {
      const text = relative(time.dateTime);
      if (time.textContent !== text) time.textContent = text;
    }
  }, TICK_MS);
}
