// Reaching the test VM: a throw-away ed25519 key and ssh to the forwarded 127.0.0.1 port. The
// VM's host key is generated here too, handed to cloud-init in the seed and pinned: the client
// trusts only that key (its own known_hosts file, StrictHostKeyChecking=yes), so whatever else
// answers on the port is refused.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";

/** The user the test seed creates (a test-only cloud-config part; see seed.ts). */
export const TEST_USER = "podplane-test";

export interface SshKey {
  privateKey: string;
  publicKey: string;
}

export async function generateSshKey(dir: string, name = "id_ed25519", comment = "podplane-images test-image"): Promise<SshKey> {
  const privateKey = path.join(dir, name);
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", privateKey], { stdin: "ignore" });
  return { privateKey, publicKey: (await readFile(`${privateKey}.pub`, "utf8")).trim() };
}

/** The name the pinned host key is filed under (the port changes each run; the key does not). */
export const HOST_KEY_ALIAS = "podplane-test-vm";

export interface PinnedHostKey {
  /** The key pair the seed hands to cloud-init. */
  key: SshKey;
  /** A known_hosts file holding only that key, under HOST_KEY_ALIAS. */
  knownHosts: string;
}

/** A host key for the test VM and the known_hosts file that pins it. */
export async function generateHostKey(dir: string): Promise<PinnedHostKey> {
  const key = await generateSshKey(dir, "ssh_host_ed25519_key", "podplane-test-vm host key");
  const [type, body] = key.publicKey.split(" ");
  const knownHosts = path.join(dir, "known_hosts");
  await writeFile(knownHosts, `${HOST_KEY_ALIAS} ${type ?? ""} ${body ?? ""}\n`, { mode: 0o600 });
  return { key, knownHosts };
}

export function sshArgs(options: { port: number; privateKey: string; knownHosts: string; connectTimeout?: number }): string[] {
  return [
    "-i", options.privateKey,
    "-p", String(options.port),
    "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes",
    "-o", "StrictHostKeyChecking=yes",
    "-o", `UserKnownHostsFile=${options.knownHosts}`,
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", `HostKeyAlias=${HOST_KEY_ALIAS}`,
    "-o", "HostKeyAlgorithms=ssh-ed25519",
    "-o", "UpdateHostKeys=no",
    "-o", "LogLevel=ERROR",
    "-o", `ConnectTimeout=${options.connectTimeout ?? 20}`,
    "-o", "ServerAliveInterval=10",
    "-o", "ServerAliveCountMax=6",
    `${TEST_USER}@127.0.0.1`,
  ];
}

export interface SshResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SshClient {
  /** Runs a command (a shell string) on the VM; resolves with its exit code, never throws on non-zero. */
  run(command: string, options?: { input?: string; timeoutMs?: number }): Promise<SshResult>;
}

/** `port` may still be coming (QEMU picks it): a run waits for it, and fails when it never comes. */
export function sshClient(options: { port: number | Promise<number>; privateKey: string; knownHosts: string; signal?: AbortSignal | undefined }): SshClient {
  return {
    async run(command, runOptions = {}) {
      const port = await options.port;
      const result = await execa("ssh", [...sshArgs({ ...options, port }), command], {
        input: runOptions.input ?? "",
        timeout: runOptions.timeoutMs ?? 120_000,
        reject: false,
        cancelSignal: options.signal,
        stripFinalNewline: false,
      });
      if (result.timedOut) throw new WorkError("ESSHTIMEOUT", `ssh command timed out after ${(runOptions.timeoutMs ?? 120_000) / 1000} s: ${command}`);
      if (result.isCanceled) throw new WorkError("EABORTED", "the boot test was cancelled");
      return { exitCode: result.exitCode ?? 255, stdout: result.stdout, stderr: result.stderr };
    },
  };
}

/** How often an idempotent command is asked again when ssh itself failed under it. */
const SSH_DROP_RETRIES = 3;

/**
 * Runs an idempotent command (a wait, a status query) and asks again, up to three times, when
 * ssh itself exits 255: on a first boot cloud-init's config stage may restart sshd under an open
 * session (its set-passwords module writes sshd's config and restarts it), which drops the
 * session without output. A command's own failure is never 255 here, so it is returned as is.
 */
export async function runRetryingSshDrops(client: SshClient, command: string, options: { timeoutMs: number; retryDelayMs?: number }): Promise<SshResult> {
  const runOptions = { timeoutMs: options.timeoutMs };
  let result = await client.run(command, runOptions);
  for (let retry = 0; result.exitCode === 255 && retry < SSH_DROP_RETRIES; retry++) {
    await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 2000));
    result = await client.run(command, runOptions);
  }
  return result;
}

/** Waits until ssh answers (exit 0 of `true`); fails early when `alive()` turns false. */
export async function waitForSsh(
  client: SshClient,
  options: { timeoutMs: number; alive: () => boolean; describeDeath: () => Promise<string>; signal?: AbortSignal },
): Promise<number> {
  const start = performance.now();
  let last = "";
  while (performance.now() - start < options.timeoutMs) {
    if (options.signal?.aborted) throw new WorkError("EABORTED", "the boot test was cancelled");
    if (!options.alive()) throw new WorkError("EVMEXITED", `the VM stopped before ssh answered: ${await options.describeDeath()}`);
    const result = await client.run("true", { timeoutMs: 30_000 }).catch((error: unknown) => ({ exitCode: 255, stdout: "", stderr: String(error) }));
    if (result.exitCode === 0) return (performance.now() - start) / 1000;
    last = result.stderr.trim();
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new WorkError("ESSHTIMEOUT", `ssh on the VM did not answer within ${options.timeoutMs / 1000} s${last ? ` (last: ${last})` : ""}`);
}
