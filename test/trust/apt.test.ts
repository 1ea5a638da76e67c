import { writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parseControlParagraph } from "../../pipeline/deb822/index.js";
import { findPackage, packagesCandidates, parseRelease } from "../../pipeline/trust/apt.js";
import { tempDir } from "../fetch/helpers.js";

const HEX = (c: string) => c.repeat(64);

const RELEASE = `Origin: Debian
Label: Debian
Suite: stable
Codename: trixie
Date: Sat, 08 Nov 2026 09:00:00 UTC
Architectures: amd64 arm64
Components: main contrib
SHA256:
 ${HEX("a")} 1000 main/binary-amd64/Packages
 ${HEX("b")} 300 main/binary-amd64/Packages.gz
 ${HEX("c")} 250 main/binary-amd64/Packages.xz
 ${HEX("d")} 900 main/binary-arm64/Packages
`;

const STANZAS = `Package: libsubid5
Source: shadow
Version: 1:4.17.4-2
Architecture: amd64
Description: subordinate id library
 with a continuation line
Filename: pool/main/s/shadow/libsubid5_4.17.4-2_amd64.deb
Size: 222488
SHA256: ${HEX("E")}

Package: uidmap
Source: shadow
Version: 1:4.17.4-2
Architecture: amd64
Filename: pool/main/s/shadow/uidmap_4.17.4-2_amd64.deb
Size: 193956
SHA256: ${HEX("f")}
`;

describe("apt repository files", () => {
  it("reads a Release paragraph: suite, codename, Valid-Until and every SHA256 entry", () => {
    const release = parseRelease(`${RELEASE}Valid-Until: Sat, 15 Nov 2026 09:00:00 UTC\n`, "InRelease");
    expect(release).toMatchObject({ suite: "stable", codename: "trixie" });
    expect(release.validUntil?.toISOString()).toBe("2026-11-15T09:00:00.000Z");
    expect(release.sha256.get("main/binary-amd64/Packages.gz")).toEqual({ path: "main/binary-amd64/Packages.gz", sha256: HEX("b"), size: 300 });
    expect(parseControlParagraph(STANZAS.split("\n\n")[0] ?? "").get("description")).toBe("subordinate id library\nwith a continuation line");
  });

  it("prefers Packages.gz, then .xz, then the plain index, among those InRelease lists", () => {
    const release = parseRelease(RELEASE, "InRelease");
    expect(packagesCandidates(release, "main", "amd64").map((e) => e.path)).toEqual(["main/binary-amd64/Packages.gz", "main/binary-amd64/Packages.xz", "main/binary-amd64/Packages"]);
    expect(packagesCandidates(release, "main", "arm64").map((e) => e.path)).toEqual(["main/binary-arm64/Packages"]);
    expect(packagesCandidates(release, "contrib", "amd64")).toEqual([]);
  });

  it("refuses a Release without SHA256 entries or with a malformed one", () => {
    expect(() => parseRelease("Suite: stable\nMD5Sum:\n 00 1 x\n", "http://m/InRelease")).toThrow("http://m/InRelease: no SHA256 section");
    expect(() => parseRelease("Suite: stable\nSHA256:\n zz 1 main/binary-amd64/Packages\n", "InRelease")).toThrow(/malformed SHA256 line/);
  });

  it("finds a .deb's stanza by its Filename in a plain, gzip or xz index, and nothing for an unlisted file", async () => {
    const dir = await tempDir("pp-apt-");
    const plain = path.join(dir, "Packages");
    await writeFile(plain, STANZAS);
    await writeFile(`${plain}.gz`, gzipSync(STANZAS));
    await writeFile(`${plain}.xz`, (await execa("xz", ["-c"], { input: STANZAS, encoding: "buffer" })).stdout);
    for (const name of ["Packages", "Packages.gz", "Packages.xz"]) {
      const found = await findPackage(path.join(dir, name), `main/binary-amd64/${name}`, "pool/main/s/shadow/uidmap_4.17.4-2_amd64.deb");
      expect(found, name).toEqual({ package: "uidmap", version: "1:4.17.4-2", architecture: "amd64", filename: "pool/main/s/shadow/uidmap_4.17.4-2_amd64.deb", sha256: HEX("f"), size: 193956 });
    }
    expect((await findPackage(plain, "Packages", "pool/main/s/shadow/libsubid5_4.17.4-2_amd64.deb"))?.sha256).toBe(HEX("e"));
    expect(await findPackage(plain, "Packages", "pool/main/s/shadow/uidmap_4.17.4-3_amd64.deb")).toBeUndefined();
  });
});
