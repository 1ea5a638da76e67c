// A NoCloud user-data for a test VM's user and SSH access (the boot test's seed, pipeline/boot).
// The qemu build VM has none since image format 4: it bakes by itself, without cloud-init or SSH.

/**
 * The SSH user and hostname of the qemu build VM up to image format 3: `inspect` still runs
 * validate-image.sh with them, so an image of that age with either left in it is reported.
 */
export const BUILD_USER = "packer";
export const BUILD_HOSTNAME = "podplane-bake";

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
