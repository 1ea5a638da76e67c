// Snapshots of the test VM's state, taken by guest-probe.py over ssh (one round trip each).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PROJECT_ROOT } from "../cli/options.js";
import { WorkError } from "../errors/index.js";
import type { SshClient } from "./ssh.js";

export interface FileInfo {
  mode: string;
  size: number;
  /** Nanoseconds as a decimal string (too big for a JSON number). */
  mtimeNs: string;
  inode: number;
  uid: number;
  isDir: boolean;
  content?: string;
}

export type UnitState = Record<string, string>;

export interface GuestSnapshot {
  bootId: string;
  uptime: number;
  files: Record<string, FileInfo | null>;
  units: Record<string, UnitState>;
  cloudInit: Record<string, unknown>;
  cloudScripts: Record<string, FileInfo | null>;
  journal: string[];
  dpkgSinceBoot: string[];
  connect: string | null;
  failedUnits: string[];
}

export interface ProbeRequest {
  units: string[];
  paths: string[];
  globs: string[];
  connect?: { host: string; port: number };
}

const PROBE_SCRIPT = path.join(PROJECT_ROOT, "pipeline", "boot", "guest-probe.py");

export async function probeGuest(ssh: SshClient, request: ProbeRequest): Promise<GuestSnapshot> {
  const script = await readFile(PROBE_SCRIPT, "utf8");
  const encoded = Buffer.from(JSON.stringify(request)).toString("base64");
  const result = await ssh.run(`sudo -n python3 - ${encoded}`, { input: script, timeoutMs: 120_000 });
  if (result.exitCode !== 0) throw new WorkError("EPROBE", `the guest probe failed (exit ${result.exitCode}): ${result.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  try {
    return JSON.parse(result.stdout) as GuestSnapshot;
  } catch (error) {
    throw new WorkError("EPROBE", `the guest probe printed no JSON: ${result.stdout.slice(0, 200)}`, {}, { cause: error });
  }
}

/** The content of a file in a snapshot, or undefined when it is missing. */
export function fileContent(snapshot: GuestSnapshot, file: string): string | undefined {
  return snapshot.files[file]?.content;
}

/** Units whose main process started anew between two snapshots (restarted, or started). */
export function restartedUnits(before: GuestSnapshot, after: GuestSnapshot, units: readonly string[]): string[] {
  return units.filter((unit) => {
    const a = before.units[unit];
    const b = after.units[unit];
    if (!a || !b) return false;
    return (a.InvocationID ?? "") !== (b.InvocationID ?? "") || (a.ExecMainStartTimestampMonotonic ?? "") !== (b.ExecMainStartTimestampMonotonic ?? "");
  });
}
