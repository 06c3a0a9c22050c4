import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";

/** A date for people: `2026-11-29 14:59:03 UTC (3 minutes ago)`; `never` when unset. */
export function humanDate(ts: Timestamp | undefined, now = Date.now(), unset = "never"): string {
  if (!ts) return unset;
  const ms = timestampMs(ts);
  const text = `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
  const seconds = Math.round((now - ms) / 1000);
  const ago = Math.abs(seconds);
  const unit =
    ago < 60
      ? ["second", ago]
      : ago < 3600
        ? ["minute", ago / 60]
        : ago < 86400
          ? ["hour", ago / 3600]
          : ["day", ago / 86400];
  const n = Math.floor(unit[1] as number);
  const span = `${n} ${unit[0]}${n === 1 ? "" : "s"}`;
  return `${text} (${seconds >= 0 ? `${span} ago` : `in ${span}`})`;
}

/** Aligned columns with a header row. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return "(none)\n";
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}
