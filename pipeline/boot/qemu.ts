// Starting and always stopping a test VM: a throw-away qcow2 overlay, QEMU with user networking
// restricted to this machine (`restrict=on`; only the SSH port forward and any explicit guestfwd),
// the serial console captured line by line with the host time since start.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import net from "node:net";
import { execa } from "execa";
import { WorkError } from "../errors/index.js";
import type { Arch } from "../manifest/schema.js";
import type { Accelerator } from "../packer/accelerator.js";

export interface QemuOptions {
  arch: Arch;
  overlay: string;
  seedIso: string;
  sshPort: number;
  accel: Accelerator;
  memoryMiB?: number;
  cpus?: number;
  /** Extra `guestfwd=` rules, e.g. `tcp:10.0.2.100:80-cmd:socat STDIO TCP:127.0.0.1:8080`. */
  guestForwards?: readonly string[];
}

const AARCH64_FIRMWARE = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd";

export function qemuBinary(arch: Arch): string {
  return arch === "arm64" ? "qemu-system-aarch64" : "qemu-system-x86_64";
}

/** The QEMU command line (without the binary). Serial goes to stdout, nothing else is shown. */
export function qemuArgs(options: QemuOptions): string[] {
  const netdev = ["user", "id=n0", "restrict=on", `hostfwd=tcp:127.0.0.1:${options.sshPort}-:22`];
  for (const forward of options.guestForwards ?? []) {
    if (forward.includes(",")) throw new WorkError("EQEMUARGS", `a guestfwd rule cannot contain a comma: ${forward}`);
    netdev.push(`guestfwd=${forward}`);
  }
  // TCG runs single-threaded: with one host thread per vCPU (MTTCG), QEMU 7.2 raced the guest
  // kernel's int3-based live code patching and one CI boot died with "Oops: int3" 1.3 s in.
  const accel = options.accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg,thread=single", "-cpu", "max"];
  const machine = options.arch === "arm64" ? ["-machine", "virt", "-bios", AARCH64_FIRMWARE] : [];
  return [
    ...machine,
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

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

// Every running VM, so a signal or an exit of this process never leaves one behind.
const running = new Set<ChildProcess>();
let handlersInstalled = false;

function killAllNow(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  running.clear();
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
  return {
    pid: child.pid ?? -1,
    serial,
    startedAt,
    exited,
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
