// The CLI's top level: exit codes for help, usage errors, and a reader that closes the pipe early.
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const CLI = path.resolve(import.meta.dirname, "../../bin/podplane-images.js");

describe("podplane-images (top level)", () => {
  it("prints help listing every command and exits 0", async () => {
    const result = await execa(CLI, ["--help"], { reject: false });
    expect(result.exitCode).toBe(0);
    for (const command of ["fetch", "verify", "pin", "mirror", "vmconfig", "user-data", "build", "inspect", "test-image"]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
  });

  it("exits 2 with one clear line for an unknown command or flag", async () => {
    const unknown = await execa(CLI, ["bake-everything"], { reject: false });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'bake-everything'");
    const badFlag = await execa(CLI, ["fetch", "--kind", "knx"], { reject: false });
    expect(badFlag.exitCode).toBe(2);
    expect(badFlag.stderr).toContain('unknown kind "knx"');
  });

  it("stops quietly when the reader closes the pipe early (| head)", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await execa("bash", ["-c", `"${CLI}" fetch --help | true; echo "rc=\${PIPESTATUS[0]}" >&2`], { reject: false });
      expect(result.stderr).toBe("rc=0");
    }
  });
});
