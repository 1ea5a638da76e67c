// One throw-away test VM: an ssh key, the NoCloud seed (user-data + test access), an overlay of
// the image, QEMU started, an ssh client for it. `close()` stops QEMU and removes the overlay,
// seed ISO and key (unless kept); the serial log stays. Used by testImage and the boot benchmark.
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Arch } from "../manifest/schema.js";
import type { Accelerator } from "../packer/accelerator.js";
import { createOverlay, freePort, startVm, type Vm } from "./qemu.js";
import { renderSeed, writeSeedIso, type SeedOptions } from "./seed.js";
import { generateSshKey, sshClient, type SshClient } from "./ssh.js";

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
}

export interface TestVm {
  vm: Vm;
  ssh: SshClient;
  logPath: string;
  close(): Promise<void>;
}

export async function startTestVm(options: TestVmOptions): Promise<TestVm> {
  const key = await generateSshKey(options.workDir);
  const seed = renderSeed({ userData: options.userData, sshPublicKey: key.publicKey, instanceId: `${options.hostname}-${Date.now()}`, hostname: options.hostname, sentinel: options.sentinel });
  const seedIso = path.join(options.workDir, "seed.iso");
  const overlay = path.join(options.workDir, "overlay.qcow2");
  const logPath = path.join(options.workDir, "serial.log");
  await writeSeedIso(path.join(options.workDir, "seed"), seed, seedIso);
  await createOverlay(path.resolve(options.image), overlay);
  const sshPort = await freePort();
  const vm = startVm({ arch: options.arch ?? "amd64", overlay, seedIso, sshPort, accel: options.accel, serialLog: logPath, guestForwards: options.guestForwards });
  const onAbort = (): void => void vm.stop(1000);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  return {
    vm,
    ssh: sshClient({ port: sshPort, privateKey: key.privateKey, signal: options.signal }),
    logPath,
    async close() {
      options.signal?.removeEventListener("abort", onAbort);
      await vm.stop();
      if (!options.keep) await Promise.all([overlay, seedIso, key.privateKey].map((file) => rm(file, { force: true })));
    },
  };
}
