import { describe, expect, it } from "vitest";
import { parsePackerVersion } from "../../pipeline/packer/index.js";

describe("parsePackerVersion", () => {
  it("reads Debian's 1.6.6 as legacy (builders built in, no required_plugins)", () => {
    expect(parsePackerVersion("Packer v1.6.6")).toEqual({ version: "1.6.6", major: 1, minor: 6, patch: 6, modern: false });
  });

  it("reads 1.10+ as modern, with or without the out-of-date notice", () => {
    expect(parsePackerVersion("Packer v1.11.2\n\nYour version of Packer is out of date! The latest version\nis 1.12.0.").modern).toBe(true);
    expect(parsePackerVersion("1.10.0").version).toBe("1.10.0");
    expect(parsePackerVersion("Packer v1.9.4").modern).toBe(false);
    expect(parsePackerVersion("Packer v2.0.0-dev").modern).toBe(true);
  });

  it("refuses output without a version", () => {
    expect(() => parsePackerVersion("command not found")).toThrow(/cannot read a Packer version/);
  });
});
