// Starting and always stopping a test VM: a throw-away qcow2 overlay, QEMU with user networking
// restricted to this machine (`restrict=on`; only the SSH port forward and any explicit guestfwd),
// the serial console captured line by line with the host time since start. The SSH forward
// listens on 127.0.0.1 only, on a port QEMU itself picks (port 0): no window in which another
// process can take a port we found free; the port is read back from QEMU's listening socket.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, rmSync, type WriteStream } from "node:fs";
import { readFile, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";
import type { Arch } from "../manifest/schema.js";
import type { Accelerator } from "../packer/accelerator.js";
import { tcgCpuModel } from "../packer/vars.js";
import { AARCH64_FIRMWARE_CODE, QEMU_SYSTEM } from "./emulator.js";

export interface QemuOptions {
  arch: Arch;
  overlay: string;
  seedIso: string;
  /** The host port of the SSH forward; 0 or absent: QEMU picks a free one (see Vm.sshPort). */
  sshPort?: number | undefined;
  accel: Accelerator;
  memoryMiB?: number;
  cpus?: number;
  /** Extra `guestfwd=` rules, e.g. `tcp:10.0.2.100:80-cmd:socat STDIO TCP:127.0.0.1:8080`. */
  guestForwards?: readonly string[];
  /** Direct kernel boot (QEMU loads these instead of the disk's boot loader; the disk stays the root). */
  directBoot?: DirectBoot | undefined;
}

/** Kernel and initrd files on this host and the command line, as os.boot describes them. */
export interface DirectBoot {
  kernel: string;
  initrd: string;
  cmdline: string;
}

export function qemuBinary(arch: Arch): string {
  return QEMU_SYSTEM[arch].binary;
}

/** The QEMU command line (without the binary). Serial goes to stdout, nothing else is shown. */
export function qemuArgs(options: QemuOptions): string[] {
  const netdev = ["user", "id=n0", "restrict=on", `hostfwd=tcp:127.0.0.1:${options.sshPort ?? 0}-:22`];
  for (const forward of options.guestForwards ?? []) {
    if (forward.includes(",")) throw new WorkError("EQEMUARGS", `a guestfwd rule cannot contain a comma: ${forward}`);
    netdev.push(`guestfwd=${forward}`);
  }
  // TCG runs single-threaded: with one host thread per vCPU (MTTCG), QEMU 7.2 raced the guest
  // kernel's int3-based live code patching and one CI boot died with "Oops: int3" 1.3 s in.
  const accel = options.accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg,thread=single", "-cpu", tcgCpuModel(options.arch)];
  // arm64: UEFI (the base boots GRUB from its EFI system partition's removable path, so no
  // variable store is needed; -bios maps the code read-only into the first flash bank).
  const machine = options.arch === "arm64" ? ["-machine", "virt", "-bios", AARCH64_FIRMWARE_CODE] : [];
  // QEMU reloads the same kernel on a guest reboot, so a reboot stays a direct boot.
  const direct = options.directBoot ? ["-kernel", options.directBoot.kernel, "-initrd", options.directBoot.initrd, "-append", options.directBoot.cmdline] : [];
  return [
    ...machine,
    ...direct,
    ...accel,
    "-m", String(options.memoryMiB ?? 2048),
    "-smp", String(options.cpus ?? 2),
    "-display", "none",
    "-monitor", "none",
    "-chardev", "stdio,id=serial0,signal=off",
    "-serial", "chardev:serial0",
    "-drive", `file=${options.overlay},if=virtio,format=qcow2,discard=unmap`,
    "-drive", `file=${options.seedIso},if=virtio,format=raw,readonly=on`,
    "-netdev", netdev.join(","),
    "-device", options.arch === "arm64" ? "virtio-net-device,netdev=n0" : "virtio-net-pci,netdev=n0",
  ];
}

/** A copy-on-write overlay over `image`; the image itself is never written. */
export async function createOverlay(image: string, overlay: string): Promise<void> {
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay]);
}


// Every running VM, so a signal or an exit of this process never leaves one behind; and the
// scratch paths (overlay, keys, seed) that go with them.
const running = new Set<ChildProcess>();
const scratch = new Set<string>();
let handlersInstalled = false;

function killAllNow(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  running.clear();
  // Synchronous: this runs in an exit or signal handler, where nothing async completes.
  for (const target of scratch) rmSync(target, { recursive: true, force: true });
  scratch.clear();
}

/**
 * Removes `target` (a file, or a directory that never holds a mount) if this process exits or
 * gets SIGINT/SIGTERM/SIGHUP before the returned function is called.
 */
export function removeOnSignal(target: string): () => void {
  scratch.add(target);
  installHandlers();
  return () => void scratch.delete(target);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAllNow();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal); // the default action, now that the VMs are gone
    };
    process.on(signal, onSignal);
  }
}

/** TCP ports `pid` listens on at 127.0.0.1, from its socket inodes and /proc/<pid>/net/tcp. */
export async function listeningLoopbackPorts(pid: number, proc = "/proc"): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(path.join(proc, String(pid), "fd")).catch(() => [] as string[])) {
    const link = await readlink(path.join(proc, String(pid), "fd", fd)).catch(() => "");
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode) inodes.add(inode);
  }
  const table = await readFile(path.join(proc, String(pid), "net", "tcp"), "utf8").catch(() => "");
  const ports: number[] = [];
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [address, portHex] = (fields[1] ?? "").split(":");
    // state 0A = LISTEN; 0100007F = 127.0.0.1 (little-endian hex)
    if (fields[3] === "0A" && address === "0100007F" && fields[9] && inodes.has(fields[9]) && portHex) ports.push(parseInt(portHex, 16));
  }
  return ports.sort((a, b) => a - b);
}

/** Waits until QEMU (`pid`) listens for the SSH forward; fails when it exits first or takes too long. */
async function discoverSshPort(pid: number, exited: Promise<string>, timeoutMs = 30_000): Promise<number> {
  let gone: string | undefined;
  void exited.then((how) => (gone = how));
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (gone !== undefined) throw new WorkError("EVMEXITED", `QEMU stopped before its SSH forward listened: ${gone}`);
    const ports = await listeningLoopbackPorts(pid);
    if (ports.length === 1 && ports[0] !== undefined) return ports[0];
    if (ports.length > 1) throw new WorkError("EQEMUPORT", `QEMU listens on several loopback ports (${ports.join(", ")}); cannot tell which forwards SSH`, { ports });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new WorkError("EQEMUPORT", `QEMU did not listen for the SSH forward within ${timeoutMs / 1000} s`);
}

export interface SerialLine {
  seconds: number;
  text: string;
}

export interface Vm {
  pid: number;
  /** Serial console lines so far, stamped with host seconds since QEMU started. */
  serial: SerialLine[];
  startedAt: number;
  /** Resolves when QEMU exits (with its exit description). */
  exited: Promise<string>;
  /** The host port of the SSH forward once QEMU listens on it (the asked one, or the one QEMU picked). */
  sshPort: Promise<number>;
  isRunning(): boolean;
  /** Stops QEMU: SIGTERM, then SIGKILL after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** Terminal escape sequences (systemd's colours, cursor moves) carry no information in a log. */
const ESCAPES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, "g");

function stampLine(log: WriteStream, serial: SerialLine[], startedAt: number, raw: string): void {
  const text = raw.replace(ESCAPES, "");
  const seconds = (performance.now() - startedAt) / 1000;
  serial.push({ seconds, text });
  log.write(`[${seconds.toFixed(3).padStart(9)}] ${text}\n`);
}

/** Starts QEMU with the serial console written (time-stamped) to `serialLog`. */
export function startVm(options: QemuOptions & { serialLog: string; qemu?: string }): Vm {
  const log = createWriteStream(options.serialLog);
  const serial: SerialLine[] = [];
  const startedAt = performance.now();
  const child = spawn(options.qemu ?? qemuBinary(options.arch), qemuArgs(options), { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  installHandlers();
  let partial = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    const lines = (partial + chunk).replace(/\r/g, "").split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) stampLine(log, serial, startedAt, line);
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
    log.write(`[qemu stderr] ${chunk}`);
  });
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => {
      running.delete(child);
      resolve(`could not start ${options.qemu ?? qemuBinary(options.arch)}: ${error.message}`);
    });
    child.once("exit", (code, signal) => {
      running.delete(child);
      if (partial) stampLine(log, serial, startedAt, partial);
      partial = "";
      log.end();
      resolve(`qemu exited with ${signal ?? `code ${code}`}${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`);
    });
  });
  const sshPort = options.sshPort ? Promise.resolve(options.sshPort) : child.pid === undefined ? exited.then((how) => Promise.reject(new WorkError("EVMEXITED", how))) : discoverSshPort(child.pid, exited);
  sshPort.catch(() => undefined); // observed by the caller; never an unhandled rejection
  return {
    pid: child.pid ?? -1,
    serial,
    startedAt,
    exited,
    sshPort,
    isRunning: () => child.exitCode === null && child.signalCode === null && running.has(child),
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        await exited;
        return;
      }
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The last `count` serial lines, for a failure report. */
export function serialTail(vm: Pick<Vm, "serial">, count = 40): string {
  return vm.serial
    .slice(-count)
    .map((line) => `[${line.seconds.toFixed(1).padStart(7)}] ${line.text}`)
    .join("\n");
}
