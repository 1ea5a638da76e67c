// Runs the CLI entry point in this process and captures what it writes, so a suite can assert
// exit codes and output without paying for a Node start per case.
import { afterEach, vi } from "vitest";
import { main } from "../../pipeline/cli/main.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(...args: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(["node", "podplane-images", ...args]);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

/** Call once per suite: a failed case must not leave the mocks or an exit code behind. */
export function resetCliStateAfterEach(): void {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
}
