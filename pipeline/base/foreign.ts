// What a foreign-architecture debootstrap base needs on this host: mmdebstrap runs the guest's
// maintainer scripts (and grub-install) through qemu-user, which the kernel starts via a
// binfmt_misc entry. Checked before any work, so a missing piece is a usage error naming the
// package to install, not an "Exec format error" minutes into mmdebstrap.
import { access, readFile } from "node:fs/promises";
import os from "node:os";
import { UsageError } from "../errors/index.js";
import type { Arch } from "../manifest/schema.js";

/** The qemu-user name of a Debian architecture (binfmt entry and interpreter). */
const QEMU_USER: Record<Arch, string> = { amd64: "x86_64", arm64: "aarch64" };

export function hostArch(): Arch | undefined {
  if (os.arch() === "x64") return "amd64";
  if (os.arch() === "arm64") return "arm64";
  return undefined;
}

export interface ForeignHost {
  /** The host's architecture; default: this machine's. */
  host?: Arch | undefined;
  /** Where binfmt_misc is mounted (tests point it at a directory of their own). */
  binfmtDir?: string;
}

/** Problems that stop a foreign base, each naming what to install or run; empty when none. */
export async function foreignBaseProblems(arch: Arch, options: ForeignHost = {}): Promise<string[]> {
  const host = options.host ?? hostArch();
  if (host === arch) return [];
  if (!host) return [`the debootstrap base is built on an amd64 or arm64 host; this one is ${os.arch()}`];
  const dir = options.binfmtDir ?? "/proc/sys/fs/binfmt_misc";
  const name = `qemu-${QEMU_USER[arch]}`;
  let entry: string;
  try {
    await access(`${dir}/status`);
  } catch {
    return [`binfmt_misc is not mounted at ${dir}: run \`mount -t binfmt_misc binfmt_misc ${dir}\` (or scripts/setup-host.sh) to build the ${arch} base on this ${host} host`];
  }
  try {
    entry = await readFile(`${dir}/${name}`, "utf8");
  } catch {
    return [`no binfmt_misc entry ${name}: install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support, or scripts/setup-host.sh) to build the ${arch} base on this ${host} host`];
  }
  const problems: string[] = [];
  if (!/^enabled$/m.test(entry)) problems.push(`the binfmt_misc entry ${name} is disabled: run \`update-binfmts --enable ${name}\``);
  const interpreter = /^interpreter (\S+)$/m.exec(entry)?.[1];
  if (!interpreter) {
    problems.push(`the binfmt_misc entry ${name} names no interpreter: reinstall qemu-user-static`);
  } else {
    try {
      await access(interpreter);
    } catch {
      problems.push(`the binfmt_misc entry ${name} points at ${interpreter}, which is missing: install qemu-user-static`);
    }
  }
  // Without F (fix-binary) the interpreter must exist inside the chroot, which mmdebstrap's
  // root does not have: qemu-user-static's entries carry it, qemu-user's (dynamic) do not.
  if (!/^flags: .*F/m.test(entry)) problems.push(`the binfmt_misc entry ${name} lacks the F flag (qemu-user rather than qemu-user-static?): install qemu-user-static`);
  return problems;
}

/** Throws a usage error (exit 2) when this host cannot build the base for `arch`. */
export async function assertForeignBaseHost(arch: Arch, options: ForeignHost = {}): Promise<void> {
  const problems = await foreignBaseProblems(arch, options);
  if (problems.length > 0) throw new UsageError(`cannot build the ${arch} debootstrap base here: ${problems.join("; ")}`, "EHOSTARCH");
}
