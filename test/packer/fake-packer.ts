// Helpers for suites that put test/fixtures/fake-packer/packer on PATH.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";

export const FAKE_PACKER_DIR = path.join(PROJECT_ROOT, "test", "fixtures", "fake-packer");

export function fakePackerEnv(mode: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: `${FAKE_PACKER_DIR}:${process.env.PATH ?? ""}`, FAKE_PACKER_MODE: mode, ...extra };
}

export { tempDir } from "../helpers/temp-dir.js";

/** Writes `content` at `rel` below `root`, creating directories (fake image roots). */
export async function put(root: string, rel: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content, { mode });
}
