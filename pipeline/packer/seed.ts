// The NoCloud seed of the qemu build VM: a throwaway ed25519 key for the build user, handed to
// cloud-init on a CD labelled cidata (Packer's cd_files). The key dies with the work directory.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

export const BUILD_USER = "packer";
/** The build VM's hostname: validate-image.sh fails the bake when it is left in the image. */
export const BUILD_HOSTNAME = "podplane-bake";

export interface BuildSeed {
  files: string[];
  privateKeyFile: string;
  user: string;
}

export function seedUserData(user: string, publicKey: string): string {
  return [
    "#cloud-config",
    "users:",
    `  - name: ${user}`,
    "    sudo: ALL=(ALL) NOPASSWD:ALL",
    "    shell: /bin/bash",
    "    lock_passwd: true",
    "    ssh_authorized_keys:",
    `      - ${publicKey.trim()}`,
    "ssh_pwauth: false",
    "",
  ].join("\n");
}

export async function writeBuildSeed(dir: string, instanceId: string, user = BUILD_USER): Promise<BuildSeed> {
  const seedDir = path.join(dir, "seed");
  await mkdir(seedDir, { recursive: true });
  const privateKeyFile = path.join(dir, "build-key");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "podplane-bake", "-f", privateKeyFile], { stdin: "ignore" });
  const publicKey = await readFile(`${privateKeyFile}.pub`, "utf8");
  const userData = path.join(seedDir, "user-data");
  const metaData = path.join(seedDir, "meta-data");
  await writeFile(userData, seedUserData(user, publicKey));
  await writeFile(metaData, `instance-id: ${instanceId}\nlocal-hostname: ${BUILD_HOSTNAME}\n`);
  return { files: [userData, metaData], privateKeyFile, user };
}
