// The one deb822 parser behind the dpkg status reader (inspect, SBOM), the Packages index (pin's
// apt chain, bump) and Release files.
import { describe, expect, it } from "vitest";
import { parseControlFile, parseControlParagraph } from "../../pipeline/deb822/index.js";

describe("deb822", () => {
  it("splits paragraphs on empty or whitespace-only lines, lower-cases keys, folds continuation lines", () => {
    const text = "Package: uidmap\nVersion: 1:4.17.4-2\nDescription: tools\n for subordinate ids\n\n  \n\nPackage: libpq5\nStatus: install ok installed\n \t\nPackage: zot\n";
    const paragraphs = parseControlFile(text);
    expect(paragraphs.map((p) => p.get("package"))).toEqual(["uidmap", "libpq5", "zot"]);
    expect(paragraphs[0]?.get("version")).toBe("1:4.17.4-2");
    expect(paragraphs[0]?.get("description")).toBe("tools\nfor subordinate ids");
    expect(paragraphs[1]?.get("status")).toBe("install ok installed");
  });

  it("skips comment lines and lines without a field name", () => {
    expect([...parseControlParagraph("# a comment\n: no name\nSuite: trixie\n").entries()]).toEqual([["suite", "trixie"]]);
    expect(parseControlFile("\n\n")).toEqual([]);
  });
});
