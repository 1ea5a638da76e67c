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

/** An SSH host key pair handed to cloud-init (ssh_keys), so the client can pin it. */
export interface SeedHostKey {
  /** OpenSSH private key text (ed25519). */
  privateKey: string;
  /** `ssh-ed25519 AAAA... [comment]` */
  publicKey: string;
}

function hostKeyLines(hostKey: SeedHostKey): string[] {
  const pub = hostKey.publicKey.trim();
  if (!/^ssh-ed25519 [A-Za-z0-9+/=]+( [^\r\n]*)?$/.test(pub)) throw new Error("the host public key must be one ssh-ed25519 line");
  const priv = hostKey.privateKey.trim().split("\n");
  if (priv[0] !== "-----BEGIN OPENSSH PRIVATE KEY-----" || priv.at(-1) !== "-----END OPENSSH PRIVATE KEY-----" || priv.some((l) => !/^[A-Za-z0-9+/= -]*$/.test(l))) {
    throw new Error("the host private key must be an OpenSSH private key block");
  }
  return [
    // Only this key: cloud-init writes it instead of generating any (ssh_genkeytypes is unused then).
    "ssh_deletekeys: true",
    "ssh_keys:",
    "  ed25519_private: |",
    ...priv.map((l) => `    ${l}`),
    `  ed25519_public: ${pub}`,
  ];
}

export function seedUserData(user: string, publicKey: string, hostKey?: SeedHostKey): string {
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
    ...(hostKey ? hostKeyLines(hostKey) : []),
    "",
  ].join("\n");
}

/**
 * The cloud-init modules the build VM runs: the build user and its SSH access, the root file
 * system grown to the disk, the build hostname (cleanup-image.sh takes it out again). Nothing of
 * the config and final stages (locale, apt and GRUB debconf settings, key fingerprints to the
 * console, the final message): those are per-instance modules, which every instance of the image
 * runs on its own first boot anyway (the cleanup resets cloud-init), and in the build VM they ran
 * beside install.sh on its single vCPU.
 */
export const BUILD_VM_MODULES = {
  cloud_init_modules: ["growpart", "resizefs", "set_hostname", "update_hostname", "update_etc_hosts", "users-groups", "ssh"],
  cloud_config_modules: [],
  cloud_final_modules: [],
} as const;

/** The build VM's user-data: seedUserData's access, and only the modules the bake needs. */
export function buildSeedUserData(user: string, publicKey: string): string {
  const modules = Object.entries(BUILD_VM_MODULES).map(([stage, list]) => `${stage}: [${list.join(", ")}]`);
  return `${seedUserData(user, publicKey)}${modules.join("\n")}\n`;
}

export async function writeBuildSeed(dir: string, instanceId: string, user = BUILD_USER): Promise<BuildSeed> {
  const seedDir = path.join(dir, "seed");
  await mkdir(seedDir, { recursive: true });
  const privateKeyFile = path.join(dir, "build-key");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "podplane-bake", "-f", privateKeyFile], { stdin: "ignore" });
  const publicKey = await readFile(`${privateKeyFile}.pub`, "utf8");
  const userData = path.join(seedDir, "user-data");
  const metaData = path.join(seedDir, "meta-data");
  await writeFile(userData, buildSeedUserData(user, publicKey));
  await writeFile(metaData, `instance-id: ${instanceId}\nlocal-hostname: ${BUILD_HOSTNAME}\n`);
  return { files: [userData, metaData], privateKeyFile, user };
}
