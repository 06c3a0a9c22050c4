import { BlockList, isIPv4, isIPv6 } from "node:net";
import { invalidArgument } from "../errors.js";

/** Checks a CIDR range (`10.0.0.0/8`, `2001:db8::/32`, or a single address) and returns it tidied. */
export function normalizeCidr(text: string): string {
  const trimmed = text.trim();
  const [address = "", bits] = trimmed.split("/");
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (
    family === 0 ||
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (bits !== undefined && bits === "")
  ) {
    throw invalidArgument(
      `${JSON.stringify(trimmed)} is not a CIDR range such as 10.0.0.0/8 or 2001:db8::/32.`,
      "invalid_cidr",
    );
  }
  return `${address}/${prefix}`;
}

/** Whether `address` (IPv4, IPv6, or IPv4-mapped IPv6) lies in one of `cidrs`. */
export function cidrMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = "", bits = "0"] = cidr.split("/");
    list.addSubnet(address, Number(bits), isIPv4(address) ? "ipv4" : "ipv6");
  }
  return (address) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const plain = mapped ?? address;
    if (isIPv4(plain)) return list.check(plain, "ipv4");
    return isIPv6(plain) && list.check(plain, "ipv6");
  };
}

/** The eight 16-bit groups of an IPv6 address (zone dropped, an embedded IPv4 tail split in two). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().split("%")[0]!;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? 0 : Math.max(0, 8 - left.length - right.length);
  return [...left, ...Array<string>(zeros).fill("0"), ...right].map((group) => Number.parseInt(group, 16));
}

/**
 * What per-address limits count by: an IPv4 address (IPv4-mapped and NAT64 `64:ff9b::/96`
 * addresses unwrapped to theirs), or the first `ipv6Prefix` bits of an IPv6 address (64 by
 * default: one host or site is usually given a whole /64 and could otherwise change its
 * address at will; 128 counts each address alone).
 */
export function clientGroup(address: string, ipv6Prefix = 64): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return mapped;
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 6).join(":") === "100:65435:0:0:0:0") {
    // 64:ff9b::a.b.c.d, the well-known NAT64 prefix: an IPv4 client behind a translator.
    const [hi = 0, lo = 0] = groups.slice(6);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
  }
  const kept = groups.map((group, index) => {
    const bits = Math.min(16, Math.max(0, ipv6Prefix - 16 * index));
    return bits === 0 ? 0 : group & (0xffff << (16 - bits)) & 0xffff;
  });
  return `${kept.map((group) => group.toString(16)).join(":")}/${ipv6Prefix}`;
}

/** The IP address of a grpc-js peer string (`1.2.3.4:5678`, `[::1]:5678` or `::1:5678`). */
export function peerAddress(peer: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(peer);
  if (bracketed) return bracketed[1]!;
  const colon = peer.lastIndexOf(":");
  if (colon <= 0) return peer;
  const head = peer.slice(0, colon);
  return isIPv4(head) || isIPv6(head) ? head : peer;
}
