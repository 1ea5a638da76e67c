// dpkg's version ordering: hand-picked cases of every rule, each also checked against the
// host's own `dpkg --compare-versions` when dpkg is installed (it is on every Debian host).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareDebianVersions, parseDebianVersion, withoutEpoch } from "../../pipeline/bump/index.js";
import { UsageError } from "../../pipeline/errors/index.js";

/** [lower, higher]: each pair must compare lower < higher. */
const ORDERED: [string, string][] = [
  ["1.0~rc1", "1.0"], // ~ sorts before the end of the string
  ["1.0~~", "1.0~"],
  ["1.0~~a", "1.0~"],
  ["1.0", "1.0+b1"], // a binNMU is newer
  ["1.0", "1.0a"], // letters after the end of the string
  ["1.0a", "1.0+"], // letters before non-letters
  ["1.0+", "1.0."],
  ["1.9", "1.10"], // digits compare as numbers
  ["1.009", "1.10"], // leading zeros ignored
  ["2.0", "1:0.1"], // the epoch wins
  ["1:4.17.4-2", "2:0"],
  ["17.9-0+deb13u1", "17.12-0+deb13u1"],
  ["17.9-0+deb13u1", "17.9-0+deb13u2"],
  ["17.9-0", "17.9-0+deb13u1"],
  ["4.17.4-2", "4.17.4-10"], // revisions compare by the same rules
  ["4.17.4-2", "4.17.4.1-1"],
  ["1.2.3-1~bpo12+1", "1.2.3-1"], // a backport is older than the release
  ["5.0.5", "5.0.10"],
  ["0:1.0", "1:1.0"],
  ["1.0-1", "1.0.1"],
  ["2.30-1", "2.30.0-1"],
];

const EQUAL: [string, string][] = [
  ["1.0", "1.0"],
  ["0:1.0", "1.0"], // epoch 0 is the default
  ["1.0-0", "1.0"], // an empty revision equals "0"
  ["1.01", "1.1"],
  ["1.0-00", "1.0-0"],
];

const SORTED = ["0.9", "1.0~~", "1.0~rc2", "1.0~rc10", "1.0", "1.0-1", "1.0-1+deb13u1", "1.0+b1", "2.0~beta", "1:0.5"];

/**
 * What `dpkg --compare-versions` says of every pair, asked in one shell (one process start, not
 * one per pair); undefined when dpkg is not installed.
 */
function askDpkg(questions: readonly [string, "lt" | "eq", string][]): Map<string, boolean> | undefined {
  try {
    execFileSync("dpkg", ["--version"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  const quote = (v: string) => `'${v}'`; // the fixtures hold no quote
  const script = questions.map(([a, op, b]) => `dpkg --compare-versions ${quote(a)} ${op} ${quote(b)} && echo yes || echo no`).join("\n");
  const answers = execFileSync("sh", ["-c", script], { encoding: "utf8" }).trim().split("\n");
  return new Map(questions.map((q, i) => [q.join(" "), answers[i] === "yes"]));
}

const DPKG = askDpkg([
  ...ORDERED.map(([a, b]) => [a, "lt", b] as [string, "lt", string]),
  ...EQUAL.map(([a, b]) => [a, "eq", b] as [string, "eq", string]),
  ...SORTED.slice(1).map((b, i) => [SORTED[i] ?? "", "lt", b] as [string, "lt", string]),
]);

function dpkgSays(a: string, op: "lt" | "eq", b: string): boolean | undefined {
  return DPKG?.get(`${a} ${op} ${b}`);
}

describe("Debian version ordering", () => {
  it("has dpkg's own answers to check against on a Debian host", () => {
    if (!existsSync("/usr/bin/dpkg")) return;
    expect(DPKG?.size).toBe(ORDERED.length + EQUAL.length + SORTED.length - 1);
    expect([...(DPKG?.values() ?? [])].every(Boolean)).toBe(true);
  });

  it.each(ORDERED)("%s < %s", (lower, higher) => {
    expect(compareDebianVersions(lower, higher)).toBeLessThan(0);
    expect(compareDebianVersions(higher, lower)).toBeGreaterThan(0);
    const dpkg = dpkgSays(lower, "lt", higher);
    if (dpkg !== undefined) expect(dpkg, "dpkg --compare-versions agrees").toBe(true);
  });

  it.each(EQUAL)("%s = %s", (a, b) => {
    expect(compareDebianVersions(a, b)).toBe(0);
    const dpkg = dpkgSays(a, "eq", b);
    if (dpkg !== undefined) expect(dpkg, "dpkg --compare-versions agrees").toBe(true);
  });

  it("sorts a shuffled list as dpkg does", () => {
    const versions = ["1.0", "1:0.5", "1.0~rc2", "1.0~rc10", "1.0+b1", "0.9", "1.0-1", "1.0-1+deb13u1", "1.0~~", "2.0~beta"];
    const sorted = [...versions].sort((a, b) => compareDebianVersions(a, b));
    expect(sorted).toEqual(SORTED);
    for (let i = 1; i < sorted.length; i++) {
      const dpkg = dpkgSays(sorted[i - 1] ?? "", "lt", sorted[i] ?? "");
      if (dpkg !== undefined) expect(dpkg, `${sorted[i - 1]} < ${sorted[i]}`).toBe(true);
    }
  });

  it("splits epoch, upstream and revision (the last hyphen starts the revision), and drops the epoch for file names", () => {
    expect(parseDebianVersion("1:4.17.4-2")).toEqual({ epoch: 1, upstream: "4.17.4", revision: "2" });
    expect(parseDebianVersion("2.0-rc1-3")).toEqual({ epoch: 0, upstream: "2.0-rc1", revision: "3" });
    expect(parseDebianVersion("5.0.5")).toEqual({ epoch: 0, upstream: "5.0.5", revision: "" });
    expect(withoutEpoch("1:4.17.4-2")).toBe("4.17.4-2");
    expect(withoutEpoch("5.0.5")).toBe("5.0.5");
  });

  it.each(["", "a1.0", "x:1.0", "1.0-", "1.0-a_b", "1.0_2", "1.0 2"])("refuses the malformed version %j, naming it", (bad) => {
    expect(() => parseDebianVersion(bad)).toThrow(UsageError);
    expect(() => parseDebianVersion(bad)).toThrow(JSON.stringify(bad));
  });
});
