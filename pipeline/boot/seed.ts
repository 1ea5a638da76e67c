// The NoCloud seed of a test VM. The product's slim user-data goes in unchanged, as one part of
// a multipart MIME document; a second, test-only cloud-config part creates a login user with
// the throw-away SSH key. So the slim user-data stays exactly what Nstance ships, and the test's
// access is separate and visible (the cloud-init check accounts for that one part). The same part
// points the host names a download would use at the test's download sentinel (a bootcmd adding
// /etc/hosts lines, every boot), so an attempted download is seen by the sentinel.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { seedUserData } from "../packer/seed.js";
import { TEST_USER } from "./ssh.js";

export const SEED_BOUNDARY = "==podplane-test-seed==";

export interface SeedOptions {
  /** The slim user-data, as `podplane-images user-data` renders it. */
  userData: string;
  sshPublicKey: string;
  instanceId: string;
  hostname: string;
  /** Names to resolve to `sentinel.address` in the guest. */
  sentinel?: { address: string; hosts: readonly string[] };
}

export interface Seed {
  userData: string;
  metaData: string;
}

/** cloud-init decides a part's handler from its Content-Type; a script must start with `#!`. */
function contentTypeOf(userData: string): string {
  if (userData.startsWith("#cloud-config")) return "text/cloud-config";
  if (userData.startsWith("#!")) return "text/x-shellscript";
  throw new Error("user-data must start with #! or #cloud-config");
}

/** The test-only part: the bake's build-user cloud-config, for the test user and its throw-away key. */
export function testAccessCloudConfig(sshPublicKey: string, sentinel?: SeedOptions["sentinel"]): string {
  if (/[\r\n]/.test(sshPublicKey)) throw new Error("an SSH public key is one line");
  const access = seedUserData(TEST_USER, sshPublicKey);
  if (!sentinel || sentinel.hosts.length === 0) return access;
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(sentinel.address) || sentinel.hosts.some((h) => !/^[a-z0-9.-]+$/.test(h))) throw new Error("sentinel address and host names must be plain");
  const line = `${sentinel.address} ${sentinel.hosts.join(" ")} # podplane-test-sentinel`;
  return `${access}bootcmd:\n  - [sh, -c, "grep -q podplane-test-sentinel /etc/hosts || echo '${line}' >>/etc/hosts"]\n`;
}

function part(contentType: string, filename: string, body: string): string {
  return [
    `--${SEED_BOUNDARY}`,
    `Content-Type: ${contentType}; charset="utf-8"`,
    "MIME-Version: 1.0",
    "Content-Transfer-Encoding: 8bit",
    `Content-Disposition: attachment; filename="${filename}"`,
    "",
    body.endsWith("\n") ? body : `${body}\n`,
  ].join("\n");
}

export function renderSeed(options: SeedOptions): Seed {
  if (options.userData.includes(`--${SEED_BOUNDARY}`)) throw new Error("the user-data contains the MIME boundary");
  const userData = [
    `Content-Type: multipart/mixed; boundary="${SEED_BOUNDARY}"`,
    "MIME-Version: 1.0",
    "",
    part("text/cloud-config", "test-access.cfg", testAccessCloudConfig(options.sshPublicKey, options.sentinel)),
    part(contentTypeOf(options.userData), "podplane-user-data", options.userData),
    `--${SEED_BOUNDARY}--`,
    "",
  ].join("\n");
  const metaData = `instance-id: ${options.instanceId}\nlocal-hostname: ${options.hostname}\n`;
  return { userData, metaData };
}

/** Writes user-data and meta-data and packs them into a NoCloud ISO (volume label `cidata`). */
export async function writeSeedIso(dir: string, seed: Seed, iso: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "user-data"), seed.userData, { mode: 0o600 });
  await writeFile(path.join(dir, "meta-data"), seed.metaData);
  await execa("genisoimage", ["-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock", path.join(dir, "user-data"), path.join(dir, "meta-data")]);
}
