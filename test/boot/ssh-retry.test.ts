// runRetryingSshDrops: a session that ssh itself dropped (exit 255, as when cloud-init restarts
// sshd during a first boot) is asked again; the command's own exit codes are returned at once.
import { describe, expect, it } from "vitest";
import { runRetryingSshDrops, type SshClient, type SshResult } from "../../pipeline/boot/ssh.js";

function scripted(codes: number[]): { client: SshClient; calls: string[] } {
  const calls: string[] = [];
  const client: SshClient = {
    run(command): Promise<SshResult> {
      calls.push(command);
      const exitCode = codes[Math.min(calls.length - 1, codes.length - 1)] ?? 0;
      return Promise.resolve({ exitCode, stdout: exitCode === 0 ? "status: done\n" : "", stderr: exitCode === 255 ? "kex_exchange_identification: read: Connection reset by peer" : "" });
    },
  };
  return { client, calls };
}

describe("runRetryingSshDrops", () => {
  it("asks again after ssh dropped the session, and returns the first real answer", async () => {
    const { client, calls } = scripted([255, 255, 0]);
    const result = await runRetryingSshDrops(client, "cloud-init status --wait", { timeoutMs: 1000, retryDelayMs: 1 });
    expect(result).toMatchObject({ exitCode: 0, stdout: "status: done\n" });
    expect(calls).toEqual(["cloud-init status --wait", "cloud-init status --wait", "cloud-init status --wait"]);
  });

  it("returns the command's own failure without asking again", async () => {
    const { client, calls } = scripted([2]);
    expect((await runRetryingSshDrops(client, "cloud-init status --wait", { timeoutMs: 1000, retryDelayMs: 1 })).exitCode).toBe(2);
    expect(calls).toHaveLength(1);
  });

  it("gives up after three more tries and returns ssh's failure", async () => {
    const { client, calls } = scripted([255]);
    const result = await runRetryingSshDrops(client, "true", { timeoutMs: 1000, retryDelayMs: 1 });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(/Connection reset/);
    expect(calls).toHaveLength(4);
  });
});
