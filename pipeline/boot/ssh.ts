// Reaching the test VM: a throw-away ed25519 key and ssh to the forwarded 127.0.0.1 port.
// Host keys are not checked (the VM is new each time) and nothing is written to known_hosts.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";

/** The user the test seed creates (a test-only cloud-config part; see seed.ts). */
export const TEST_USER = "podplane-test";

export interface SshKey {
  privateKey: string;
  publicKey: string;
}

export async function generateSshKey(dir: string): Promise<SshKey> {
  const privateKey = path.join(dir, "id_ed25519");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "podplane-images test-image", "-f", privateKey]);
  return { privateKey, publicKey: (await readFile(`${privateKey}.pub`, "utf8")).trim() };
}

export function sshArgs(options: { port: number; privateKey: string; connectTimeout?: number }): string[] {
  return [
    "-i", options.privateKey,
    "-p", String(options.port),
    "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
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

export function sshClient(options: { port: number; privateKey: string; signal?: AbortSignal }): SshClient {
  return {
    async run(command, runOptions = {}) {
      const result = await execa("ssh", [...sshArgs(options), command], {
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
