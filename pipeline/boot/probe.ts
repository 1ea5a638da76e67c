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
  gid?: number;
  /** Owner and group names as the guest resolves them. */
  owner?: string;
  group?: string;
  isDir: boolean;
  isLink?: boolean;
  /** sha256 of a regular file's bytes (private keys are reported by digest only, never content). */
  sha256?: string;
  content?: string;
}

/** What /proc shows of a unit's main process. */
export interface ProcessInfo {
  pid: number;
  argv: string[];
  exe: string | null;
  /** /proc/<pid>/status Uid: real, effective, saved, filesystem. */
  uid: string[];
  gid: string[];
  environ: Record<string, string>;
  /** Listening sockets held by the main process ("tcp 0.0.0.0:6443", "unix /run/x.sock"). */
  listens: string[];
  /** Listening sockets held by any process of the unit's cgroup. */
  cgroupListens: string[];
}

export interface UserInfo {
  uid: number;
  gid: number;
  groups: string[];
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
  /** Per unit with a main process. */
  processes: Record<string, ProcessInfo>;
  /** Config files named on the units' command lines. */
  argvFiles: Record<string, FileInfo | null>;
  hostname: string;
  users: Record<string, UserInfo | null>;
  /** user -> path -> whether that user can read it (asked of the guest kernel as that user). */
  access: Record<string, Record<string, boolean> | null>;
  /** The result of fetching the no-download sentinel's canary URL, when asked. */
  canary: string | null;
}

export interface ProbeRequest {
  units: string[];
  paths: string[];
  globs: string[];
  connect?: { host: string; port: number };
  /** Users whose read access to `access` paths is probed. */
  users?: string[];
  access?: string[];
  canary?: string;
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

/** Units whose main process started anew between two snapshots (restarted, or started): another InvocationID, MainPID or start time. */
export function restartedUnits(before: GuestSnapshot, after: GuestSnapshot, units: readonly string[]): string[] {
  return units.filter((unit) => {
    const a = before.units[unit];
    const b = after.units[unit];
    if (!a || !b) return false;
    return (
      (a.InvocationID ?? "") !== (b.InvocationID ?? "") ||
      (a.MainPID ?? "") !== (b.MainPID ?? "") ||
      (a.ExecMainStartTimestampMonotonic ?? "") !== (b.ExecMainStartTimestampMonotonic ?? "")
    );
  });
}
