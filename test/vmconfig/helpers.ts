// Shared by the vmconfig and user-data suites: temp dirs removed when the test finishes.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { onTestFinished } from "vitest";

export const REPO = path.resolve(import.meta.dirname, "../..");
export const VMCONFIG_TREE = path.join(REPO, "scripts/vmconfig");

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
