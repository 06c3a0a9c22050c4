import { describe, expect, it } from "vitest";
import { cidrMatcher, clientGroup, normalizeCidr, peerAddress } from "../../../src/iam/cidr.js";

describe("CIDR allow-lists", () => {
  it("normalizes ranges and refuses what is not one", () => {
    expect(normalizeCidr(" 10.0.0.0/8 ")).toBe("10.0.0.0/8");
    expect(normalizeCidr("192.168.1.7")).toBe("192.168.1.7/32");
    expect(normalizeCidr("2001:db8::/32")).toBe("2001:db8::/32");
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "2001:db8::/129", "example.com/8", "10.0.0.0/", ""]) {
      expect(() => normalizeCidr(bad), bad).toThrow(/not a CIDR range/);
    }
  });

  it("matches IPv4, IPv6 and IPv4-mapped IPv6 addresses", () => {
    const allowed = cidrMatcher(["10.0.0.0/8", "2001:db8::/32", "127.0.0.1/32"]);
    expect(allowed("10.1.2.3")).toBe(true);
    expect(allowed("11.0.0.1")).toBe(false);
    expect(allowed("2001:db8:1::5")).toBe(true);
    expect(allowed("2001:db9::1")).toBe(false);
    expect(allowed("::ffff:10.9.9.9")).toBe(true);
    expect(allowed("::ffff:127.0.0.2")).toBe(false);
    expect(allowed("not an address")).toBe(false);
  });

  it("reads the address out of grpc-js peer strings", () => {
    expect(peerAddress("127.0.0.1:54321")).toBe("127.0.0.1");
    expect(peerAddress("[::1]:54321")).toBe("::1");
    expect(peerAddress("::ffff:10.0.0.1:443")).toBe("::ffff:10.0.0.1");
    expect(peerAddress("2001:db8::1:8080")).toBe("2001:db8::1");
    expect(peerAddress("unknown")).toBe("unknown");
  });

  it("groups client addresses as per-address limits count them: IPv4 alone, IPv6 by prefix", () => {
    expect(clientGroup("10.1.2.3")).toBe("10.1.2.3");
    expect(clientGroup("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(clientGroup("64:ff9b::10.1.2.3")).toBe("10.1.2.3");
    expect(clientGroup("64:ff9b::a01:203")).toBe("10.1.2.3");
    expect(clientGroup("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2:0:0:0:0/64");
    expect(clientGroup("2001:DB8:1:2::ffff")).toBe("2001:db8:1:2:0:0:0:0/64");
    expect(clientGroup("2001:db8::1")).toBe("2001:db8:0:0:0:0:0:0/64");
    expect(clientGroup("2001:db8:0:1::1")).not.toBe(clientGroup("2001:db8::1"));
    expect(clientGroup("::1")).toBe("0:0:0:0:0:0:0:0/64");
    expect(clientGroup("fe80::1%eth0")).toBe("fe80:0:0:0:0:0:0:0/64");
    expect(clientGroup("2001:db8:a:b::1.2.3.4")).toBe("2001:db8:a:b:0:0:0:0/64");
    expect(clientGroup("2001:db8:1:2:3:4:5:6", 128)).toBe("2001:db8:1:2:3:4:5:6/128");
    expect(clientGroup("2001:db8:1:2ff:3:4:5:6", 56)).toBe("2001:db8:1:200:0:0:0:0/56");
    expect(clientGroup("2001:db8:1:2:3:4:5:6", 48)).toBe("2001:db8:1:0:0:0:0:0/48");
    expect(clientGroup("unknown")).toBe("unknown");
  });
});
