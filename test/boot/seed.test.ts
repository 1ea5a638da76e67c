import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { parse as parseYaml } from "yaml";
import { renderSeed, SEED_BOUNDARY, writeSeedIso } from "../../pipeline/boot/seed.js";
import { TEST_USER } from "../../pipeline/boot/ssh.js";

const run = promisify(execFile);
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1 podplane-images test-image";
const SLIM = "#!/bin/bash\nset -euo pipefail\necho slim\n";

/** Splits a multipart document into its parts' headers and bodies (the newline before a boundary belongs to the boundary). */
function parts(document: string): Array<{ headers: string; body: string }> {
  return document
    .split(`--${SEED_BOUNDARY}`)
    .slice(1, -1)
    .map((chunk) => {
      const [headers = "", ...rest] = chunk.replace(/^\n/, "").split("\n\n");
      return { headers, body: rest.join("\n\n").replace(/\n$/, "") };
    });
}

describe("the test seed", () => {
  it("carries the slim user-data unchanged as its own part, and the test access as a separate cloud-config part", () => {
    const seed = renderSeed({ userData: SLIM, sshPublicKey: KEY, instanceId: "iid-1", hostname: "pp-test" });
    expect(seed.userData.startsWith(`Content-Type: multipart/mixed; boundary="${SEED_BOUNDARY}"\n`)).toBe(true);
    expect(seed.userData.trimEnd().endsWith(`--${SEED_BOUNDARY}--`)).toBe(true);
    const [access, slim] = parts(seed.userData);
    expect(access?.headers).toContain("Content-Type: text/cloud-config");
    const config = parseYaml(access?.body ?? "") as { users: Array<{ name: string; ssh_authorized_keys: string[]; sudo: string }> };
    expect(config.users).toEqual([expect.objectContaining({ name: TEST_USER, ssh_authorized_keys: [KEY], sudo: "ALL=(ALL) NOPASSWD:ALL" })]);
    expect(slim?.headers).toContain("Content-Type: text/x-shellscript");
    expect(slim?.body).toBe(SLIM);
    expect(seed.metaData).toBe("instance-id: iid-1\nlocal-hostname: pp-test\n");
  });

  it("marks a cloud-config user-data as cloud-config and refuses what would break the document", () => {
    const seed = renderSeed({ userData: "#cloud-config\nruncmd: [true]\n", sshPublicKey: KEY, instanceId: "i", hostname: "h" });
    expect(parts(seed.userData)[1]?.headers).toContain("Content-Type: text/cloud-config");
    expect(() => renderSeed({ userData: "echo no shebang\n", sshPublicKey: KEY, instanceId: "i", hostname: "h" })).toThrow(/#!/);
    expect(() => renderSeed({ userData: SLIM, sshPublicKey: `${KEY}\nruncmd: [evil]`, instanceId: "i", hostname: "h" })).toThrow(/one line/);
    expect(() => renderSeed({ userData: `${SLIM}--${SEED_BOUNDARY}\n`, sshPublicKey: KEY, instanceId: "i", hostname: "h" })).toThrow(/boundary/);
  });

  it("packs a NoCloud ISO labelled cidata holding user-data and meta-data", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pp-seed-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const seed = renderSeed({ userData: SLIM, sshPublicKey: KEY, instanceId: "iid-2", hostname: "h" });
    const iso = path.join(dir, "seed.iso");
    await writeSeedIso(path.join(dir, "seed"), seed, iso);
    const { stdout: info } = await run("isoinfo", ["-d", "-i", iso]);
    expect(info).toMatch(/Volume id: cidata/);
    const { stdout: userData } = await run("isoinfo", ["-i", iso, "-R", "-x", "/user-data"]);
    expect(userData).toBe(seed.userData);
    expect(await readFile(path.join(dir, "seed", "meta-data"), "utf8")).toBe(seed.metaData);
  });
});
