import { describe, expect, it } from "vitest";
import { compareReleaseVersions, highestRelease, parseReleaseVersion, shapeOfTag, versionInTag } from "../../pipeline/bump/index.js";

function v(text: string) {
  const parsed = parseReleaseVersion(text);
  if (!parsed) throw new Error(`fixture: ${text} does not parse`);
  return parsed;
}

describe("release versions (tags)", () => {
  it("orders cores numerically, a prerelease before its release, shorter cores first", () => {
    const sorted = ["1.10.0", "1.9.9", "2.0.0-rc.1", "2.0.0", "2.0.0-rc.10", "2.0.0-beta", "3.10", "3.9", "3.10.1", "1.2.3+build"].map(v).sort(compareReleaseVersions);
    expect(sorted.map((x) => x.text)).toEqual(["1.2.3+build", "1.9.9", "1.10.0", "2.0.0-beta", "2.0.0-rc.1", "2.0.0-rc.10", "2.0.0", "3.9", "3.10", "3.10.1"]);
  });

  it("finds the version inside a tag of a shape and nothing in a tag of another", () => {
    expect(versionInTag("v1.4.2", { prefix: "v", suffix: "" })?.text).toBe("1.4.2");
    expect(versionInTag("0.11.2", { prefix: "v", suffix: "" })).toBeUndefined();
    expect(versionInTag("api/v1.9.0", { prefix: "v", suffix: "" })).toBeUndefined();
    expect(versionInTag("0.11.2", { prefix: "", suffix: "" })?.text).toBe("0.11.2");
    expect(versionInTag("v1.2.3-alpine", { prefix: "v", suffix: "-alpine" })?.text).toBe("1.2.3");
    expect(shapeOfTag("3.10.2")).toMatchObject({ shape: { prefix: "", suffix: "" } });
    expect(shapeOfTag("v1.2.3-alpine")).toMatchObject({ shape: { prefix: "v", suffix: "-alpine" } });
    expect(shapeOfTag("latest")).toBeUndefined();
  });

  it("skips prereleases when picking the highest release", () => {
    expect(highestRelease(["1.0.0", "1.1.0-rc.1", "1.0.1"].map(v))?.text).toBe("1.0.1");
    expect(highestRelease(["1.1.0-rc.1"].map(v))).toBeUndefined();
  });
});
