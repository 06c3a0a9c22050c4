/** One setting: a flag, its environment variable, default, help text and parser. */
export interface FlagSpec<T = unknown> {
  /** Flag name without dashes, kebab-case: `grpc-address`. */
  name: string;
  description: string;
  /** The default as it would be typed; undefined: unset. */
  default?: string;
  /** A boolean switch: given without a value. */
  boolean?: boolean;
  /** A switch that may also take one of these words: `--spool` or `--spool jetstream`. */
  values?: readonly string[];
  /** Turns the text into the value or throws an Error whose message says what is expected. */
  parse: (raw: string) => T;
}

/** `grpc-address` -> `PROFGATE_GRPC_ADDRESS`. */
export function envName(flag: string): string {
  return `PROFGATE_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** A `host:port` listen or dial address; port 0 picks a free port. */
export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(raw: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(raw.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) throw new Error("expected host:port, e.g. 0.0.0.0:7070 or [::]:7070");
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `5s`, `250ms`, `1m`, `2h`, `1h30m` -> milliseconds. */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new Error("expected a duration such as 500ms, 5s, 1m or 2h");
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}

export function parseBytes(raw: string): number {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/i.exec(raw.trim());
  if (!match) throw new Error("expected a size such as 1048576, 64MiB or 1GiB");
  const units: Record<string, number> = {
    b: 1,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
  };
  return Number(match[1]) * (units[(match[2] ?? "b").toLowerCase()] ?? 1);
}

/** An HTTP/2 flow-control window: 64 KiB (the protocol's default) to 2^31-1 bytes. */
export function parseWindowBytes(raw: string): number {
  const bytes = parseBytes(raw);
  if (bytes < 65_535 || bytes > 2 ** 31 - 1) {
    throw new Error("expected an HTTP/2 window between 64KiB and 2GiB minus one byte, e.g. 2MiB");
  }
  return bytes;
}

export function parseBoolean(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on", ""].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new Error("expected true or false");
}

export function parseOneOf<T extends string>(choices: readonly T[]) {
  return (raw: string): T => {
    if ((choices as readonly string[]).includes(raw)) return raw as T;
    throw new Error(`expected one of ${choices.join(", ")}`);
  };
}
