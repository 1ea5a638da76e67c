// One throw-away test VM: an ssh key, a host key for the VM (pinned by the client), the NoCloud
// seed (user-data + test access), an overlay of the image, QEMU started on a port it picks, an
// ssh client for it. All of that but the serial log lives in one scratch directory that close()
// removes (unless kept) and that a SIGINT/SIGTERM/SIGHUP removes too. Used by testImage and the
// boot benchmark.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { Arch } from "../manifest/schema.js";
import type { Accelerator } from "../packer/accelerator.js";
import { createOverlay, removeOnSignal, startVm, type DirectBoot, type Vm } from "./qemu.js";
import { renderSeed, writeSeedIso, type SeedOptions } from "./seed.js";
import { generateHostKey, generateSshKey, sshClient, type SshClient } from "./ssh.js";

export interface TestVmOptions {
  image: string;
  userData: string;
  workDir: string;
  accel: Accelerator;
  hostname: string;
  arch?: Arch;
  guestForwards?: readonly string[];
  /** Host names the guest resolves to the download sentinel (seed.ts). */
  sentinel?: SeedOptions["sentinel"];
  signal?: AbortSignal;
  keep?: boolean;
  /** Boot the kernel and initrd given here (-kernel/-initrd/-append) instead of the image's boot loader. */
  directBoot?: DirectBoot | undefined;
}

export interface TestVm {
  vm: Vm;
  ssh: SshClient;
  /** The host port QEMU forwards to the guest's SSH (127.0.0.1 only), once QEMU listens. */
  sshPort: Promise<number>;
  logPath: string;
  /** Overlay, keys, seed: removed by close() unless `keep`. */
  scratchDir: string;
  close(): Promise<void>;
}

export async function startTestVm(options: TestVmOptions): Promise<TestVm> {
  const scratchDir = await mkdtemp(path.join(options.workDir, "vm-"));
  const forget = removeOnSignal(scratchDir);
  const logPath = path.join(options.workDir, "serial.log");
  const discard = async (): Promise<void> => {
    forget();
    if (!options.keep) await rm(scratchDir, { recursive: true, force: true });
  };
  let vm: Vm | undefined;
  try {
    const key = await generateSshKey(scratchDir);
    const host = await generateHostKey(scratchDir);
    const sshHostKey = { privateKey: await readFile(host.key.privateKey, "utf8"), publicKey: host.key.publicKey };
    const seed = renderSeed({ userData: options.userData, sshPublicKey: key.publicKey, sshHostKey, instanceId: `${options.hostname}-${Date.now()}`, hostname: options.hostname, sentinel: options.sentinel });
    const seedIso = path.join(scratchDir, "seed.iso");
    const overlay = path.join(scratchDir, "overlay.qcow2");
    await writeSeedIso(path.join(scratchDir, "seed"), seed, seedIso);
    await createOverlay(path.resolve(options.image), overlay);
    const started = startVm({ arch: options.arch ?? "amd64", overlay, seedIso, accel: options.accel, serialLog: logPath, guestForwards: options.guestForwards, directBoot: options.directBoot });
    vm = started;
    const onAbort = (): void => void started.stop(1000);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    // Not awaited here: a QEMU that dies first shows up where the caller waits for ssh.
    const sshPort = started.sshPort;
    return {
      vm: started,
      ssh: sshClient({ port: sshPort, privateKey: key.privateKey, knownHosts: host.knownHosts, signal: options.signal }),
      sshPort,
      logPath,
      scratchDir,
      async close() {
        options.signal?.removeEventListener("abort", onAbort);
        await started.stop();
        await discard();
      },
    };
  } catch (error) {
    await vm?.stop(1000);
    await discard();
    throw error;
  }
}
