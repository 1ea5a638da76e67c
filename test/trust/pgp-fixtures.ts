// Throwaway OpenPGP keys for the signature tests, made at test time: one private GNUPGHOME per
// suite (no passphrase, ed25519, ~50 ms a key), clear-signing with any of its keys, and trust
// directories holding their armored public keys the way trust/<name>/ does in the repo.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";

export interface TestKey {
  uid: string;
  fingerprint: string;
  armored: string;
}

export interface TestSigner {
  home: string;
  generate(uid: string): Promise<TestKey>;
  /** A PGP clear-signed message of `text`, one signature per key. */
  clearsign(text: string, keys: readonly TestKey[]): Promise<string>;
  /** Writes `<dir>/<name>/key.asc` with the keys' armored public keys; returns `dir`. */
  trustRoot(dir: string, name: string, keys: readonly TestKey[]): Promise<string>;
  /** Stops the gpg-agent of this home and removes it. */
  close(): Promise<void>;
}

export async function createSigner(): Promise<TestSigner> {
  // short path: gpg-agent's socket lives in the home and socket paths are length-limited
  const home = await mkdtemp(path.join(tmpdir(), "pp-gpg-"));
  const gpg = (args: string[], input?: string) => execa("gpg", ["--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", ...args], { input, env: { LC_ALL: "C" } });
  return {
    home,
    async generate(uid) {
      await gpg(["--quick-gen-key", uid, "ed25519", "sign", "never"]);
      const listing = await gpg(["--with-colons", "--list-keys", uid]);
      const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing.stdout)?.[1];
      if (!fingerprint) throw new Error(`no fingerprint for ${uid}: ${listing.stdout}`);
      const armored = (await gpg(["--armor", "--export", fingerprint])).stdout;
      return { uid, fingerprint, armored };
    },
    async clearsign(text, keys) {
      const signers = keys.flatMap((key) => ["--local-user", `${key.fingerprint}!`]);
      return `${(await gpg([...signers, "--clearsign", "--digest-algo", "SHA256"], text)).stdout}\n`;
    },
    async trustRoot(dir, name, keys) {
      await mkdir(path.join(dir, name), { recursive: true });
      await writeFile(path.join(dir, name, "key.asc"), `${keys.map((key) => key.armored).join("\n")}\n`);
      return dir;
    },
    async close() {
      await execa("gpgconf", ["--homedir", home, "--kill", "gpg-agent"], { reject: false });
      await rm(home, { recursive: true, force: true });
    },
  };
}
