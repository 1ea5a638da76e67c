// Shared by the vmconfig and user-data suites: temp dirs removed when the test finishes.
import path from "node:path";

export const REPO = path.resolve(import.meta.dirname, "../..");
export const VMCONFIG_TREE = path.join(REPO, "scripts/vmconfig");

export { tempDir } from "../helpers/temp-dir.js";
