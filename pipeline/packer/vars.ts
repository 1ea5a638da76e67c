// The variables of one bake, as the var file Packer reads (-var-file=podplane.pkrvars.json).
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Arch, Kind } from "../manifest/schema.js";
import { QEMU_SYSTEM } from "../boot/emulator.js";

export const TARGETS = ["qemu", "aws"] as const;
export type Target = (typeof TARGETS)[number];

export const VAR_FILE_NAME = "podplane.pkrvars.json";

/** `-only` name of a target's source (the build block is named "podplane"). */
export function sourceName(target: Target): string {
  return target === "qemu" ? "podplane.qemu.podplane" : "podplane.amazon-ebs.podplane";
}

export interface QemuSettings {
  baseImage: string;
  /** `sha256:<hex>` (or sha512) of the base image; Packer verifies it. */
  baseImageChecksum: string;
  outputDir: string;
  accelerator: "kvm" | "tcg";
  /** The stage directory and the bake's scripts as an ISO9660 image: the build VM's read-only virtio disk. */
  stageIso: string;
  /** The base's kernel and initrd, and the command line that makes the bake the boot's only job. */
  directBoot: { kernel: string; initrd: string; cmdline: string };
  /** Where QEMU writes the build VM's serial console. */
  serialLog: string;
  /** Packer's shutdown_timeout: how long the build VM may take to bake and power itself off. */
  bakeTimeout?: string;
  memory?: number;
  cpus?: number;
  diskSize?: string;
}

export interface AwsSettings {
  region: string;
  amiRegions?: string[];
  amiUsers?: string[];
  amiGroups?: string[];
  instanceType?: string;
  kmsKeyId?: string;
}

export interface BakeVariables {
  kind: Kind;
  arch: Arch;
  os: string;
  imageName: string;
  inputHash: string;
  stageDir: string;
  scriptsDir: string;
  manifestPath: string;
  tags: Record<string, string>;
  target: Target;
  qemu?: QemuSettings;
  aws?: AwsSettings;
}

const QEMU_MACHINE: Record<Arch, string> = { amd64: "pc", arm64: "virt" };
const AMI_ARCH: Record<Arch, string> = { amd64: "x86_64", arm64: "arm64" };

/**
 * The CPU under TCG: everything QEMU can emulate. For aarch64 with pointer authentication's
 * IMPLEMENTATION DEFINED algorithm: QEMU's docs call emulating the architected QARMA5 slow, and
 * the guest cannot tell the difference (keys and checks stay in the emulator).
 */
export function tcgCpuModel(arch: Arch): string {
  return arch === "arm64" ? "max,pauth-impdef=on" : "max";
}

/**
 * One vCPU under TCG: with more, QEMU runs multi-threaded TCG, which raced the guest kernel's
 * int3-based live code patching ("Oops: int3"; the test VMs run `-accel tcg,thread=single`).
 * Packer's qemu builder passes `-machine accel=tcg` itself, and QEMU refuses a second
 * `-accel` beside it, so the thread mode cannot be set there: a single vCPU is the way.
 */
export function buildVmCpus(qemu: Pick<QemuSettings, "accelerator" | "cpus">): number {
  return qemu.accelerator === "tcg" ? 1 : (qemu.cpus ?? 2);
}

/** cloud-init's datasource_list for an image of the target (cleanup-image.sh writes it). */
export function datasourcesFor(target: Target): string {
  return target === "qemu" ? "NoCloud, None" : "Ec2, None";
}

export function packerVariables(v: BakeVariables): Record<string, unknown> {
  const vars: Record<string, unknown> = {
    kind: v.kind,
    arch: v.arch,
    os: v.os,
    image_name: v.imageName,
    input_hash: v.inputHash,
    stage_dir: v.stageDir,
    scripts_dir: v.scriptsDir,
    manifest_path: v.manifestPath,
    tags: v.tags,
    // aws's SSH user, removed by the cleanup; the qemu build VM logs no one in.
    build_user: v.target === "qemu" ? "" : "admin",
    datasources: datasourcesFor(v.target),
  };
  if (v.qemu) {
    Object.assign(vars, {
      base_image: v.qemu.baseImage,
      base_image_checksum: v.qemu.baseImageChecksum,
      output_dir: v.qemu.outputDir,
      accelerator: v.qemu.accelerator,
      cpu_model: v.qemu.accelerator === "kvm" ? "host" : tcgCpuModel(v.arch),
      stage_iso: v.qemu.stageIso,
      direct_boot_args: [
        ["-kernel", v.qemu.directBoot.kernel],
        ["-initrd", v.qemu.directBoot.initrd],
        ["-append", v.qemu.directBoot.cmdline],
      ],
      serial_log: v.qemu.serialLog,
      bake_timeout: v.qemu.bakeTimeout ?? "40m",
      memory: v.qemu.memory ?? 2048,
      cpus: buildVmCpus(v.qemu),
      disk_size: v.qemu.diskSize ?? "4G",
      qemu_binary: QEMU_SYSTEM[v.arch].binary,
      qemu_machine: QEMU_MACHINE[v.arch],
    });
  }
  if (v.aws) {
    Object.assign(vars, {
      aws_region: v.aws.region,
      ami_regions: v.aws.amiRegions ?? [],
      ami_users: v.aws.amiUsers ?? [],
      ami_groups: v.aws.amiGroups ?? [],
      aws_instance_type: v.aws.instanceType ?? (v.arch === "arm64" ? "t4g.medium" : "t3.medium"),
      aws_source_ami_name: `${v.os}-${v.arch}-*`,
      aws_source_ami_architecture: AMI_ARCH[v.arch],
      aws_kms_key_id: v.aws.kmsKeyId ?? "",
    });
  }
  return vars;
}

export async function writeVarFile(dir: string, v: BakeVariables): Promise<string> {
  const file = path.join(dir, VAR_FILE_NAME);
  await writeFile(file, `${JSON.stringify(packerVariables(v), null, 2)}\n`);
  return file;
}
