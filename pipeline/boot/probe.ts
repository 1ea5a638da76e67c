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

// ---- the container runtime (issue 9: runtime-ready, images-preloaded, container-runs) --------

/** What one guest command did. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the container runtime of the test VM shows: containerd's unit and config, ctr's views, runc and CNI answers, one container run. */
export interface RuntimeSnapshot {
  /** systemctl show containerd.service (ActiveState, SubState, MainPID, ...). */
  unit: UnitState;
  /** /proc/<MainPID>/cmdline of containerd, split. */
  argv: string[];
  /** /etc/containerd/config.toml, or null when missing. */
  config: string | null;
  /** /opt/podplane/share/installed.json, or null. */
  installed: string | null;
  /** ctr plugins ls */
  plugins: CommandResult;
  /** /usr/local/sbin/runc --version */
  runc: CommandResult;
  /** Each CNI plugin of /opt/cni/bin asked with CNI_COMMAND=VERSION. */
  cni: Record<string, CommandResult>;
  /** ctr -n k8s.io images ls, before and after the container ran. */
  images: CommandResult;
  imagesAfter: CommandResult | null;
  /** ctr -n k8s.io content ls -q, before and after. */
  content: CommandResult;
  contentAfter: CommandResult | null;
  /** ctr -n k8s.io run --rm <image> <id> <args...>, when asked. */
  run: (CommandResult & { image: string; args: string[] }) | null;
  /** ip route show default: the route out the VM has (QEMU's restricted user network). */
  route: CommandResult;
}

export interface RuntimeProbeRequest {
  /** CNI plugins to ask (file names in /opt/cni/bin). */
  cniPlugins: string[];
  /** A container to run from a preloaded image: ctr run --rm IMAGE ID ARGS. */
  run?: { image: string; args: string[] };
}

/** The runtime probe, run as root in the guest (python3 is there because cloud-init is). */
const RUNTIME_PROBE = String.raw`
import base64, json, os, subprocess, sys, time
req = json.loads(base64.b64decode(sys.argv[1]))
CTR = "/usr/local/bin/ctr"
def run(args, env=None, timeout=60):
    try:
        done = subprocess.run(args, capture_output=True, text=True, errors="replace", env=env, timeout=timeout, stdin=subprocess.DEVNULL)
        return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-2000:]}
    except FileNotFoundError as error:
        return {"code": 127, "stdout": "", "stderr": str(error)}
    except subprocess.TimeoutExpired:
        return {"code": 124, "stdout": "", "stderr": "timed out after %d s" % timeout}
def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None
props = "Id,LoadState,ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStartTimestampMonotonic"
unit = dict(l.split("=", 1) for l in run(["systemctl", "show", "containerd.service", "-p", props])["stdout"].splitlines() if "=" in l)
pid = int(unit.get("MainPID", "0") or 0)
cmdline = read("/proc/%d/cmdline" % pid) if pid > 0 else None
out = {"unit": unit, "argv": cmdline.split("\0")[:-1] if cmdline else [], "config": read("/etc/containerd/config.toml"),
       "installed": read("/opt/podplane/share/installed.json"), "plugins": run([CTR, "plugins", "ls"]),
       "runc": run(["/usr/local/sbin/runc", "--version"]), "route": run(["ip", "route", "show", "default"])}
out["cni"] = {name: run(["/opt/cni/bin/" + name], env={"CNI_COMMAND": "VERSION", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}) for name in req["cniPlugins"]}
out["images"] = run([CTR, "-n", "k8s.io", "images", "ls"])
out["content"] = run([CTR, "-n", "k8s.io", "content", "ls", "-q"])
out["run"] = out["imagesAfter"] = out["contentAfter"] = None
if req.get("run"):
    spec = req["run"]
    ident = "podplane-boot-test-%d" % int(time.time())
    result = run([CTR, "-n", "k8s.io", "run", "--rm", spec["image"], ident] + spec["args"], timeout=240)
    result.update({"image": spec["image"], "args": spec["args"]})
    out["run"] = result
    out["imagesAfter"] = run([CTR, "-n", "k8s.io", "images", "ls"])
    out["contentAfter"] = run([CTR, "-n", "k8s.io", "content", "ls", "-q"])
print(json.dumps(out))
`;

export async function probeRuntime(ssh: SshClient, request: RuntimeProbeRequest): Promise<RuntimeSnapshot> {
  const encoded = Buffer.from(JSON.stringify(request)).toString("base64");
  const result = await ssh.run(`sudo -n python3 - ${encoded}`, { input: RUNTIME_PROBE, timeoutMs: 360_000 });
  if (result.exitCode !== 0) throw new WorkError("EPROBE", `the runtime probe failed (exit ${result.exitCode}): ${result.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  try {
    return JSON.parse(result.stdout) as RuntimeSnapshot;
  } catch (error) {
    throw new WorkError("EPROBE", `the runtime probe printed no JSON: ${result.stdout.slice(0, 200)}`, {}, { cause: error });
  }
}
