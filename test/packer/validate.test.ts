// Real `packer validate` of the rendered template with dummy variables: no cloud credentials.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { buildVmCmdline } from "../../pipeline/image/build-vm-boot.js";
import { PROVISIONER_SCRIPTS_DIR, detectPacker, packerValidate, writeTemplate, writeVarFile } from "../../pipeline/packer/index.js";
import { tempDir } from "./fake-packer.js";

const common = {
  kind: "knc" as const,
  arch: "amd64" as const,
  os: "debian-13",
  imageName: "podplane-knc-debian-13-amd64-0123456789ab",
  inputHash: "0".repeat(64),
  scriptsDir: PROVISIONER_SCRIPTS_DIR,
  tags: { "podplane:kind": "knc", "podplane:dep:kubelet": "1.36.1" },
};

describe("packer validate (installed Packer)", () => {
  it("refuses to share an AMI encrypted with the default KMS key", async () => {
    const dir = await tempDir("pkv-aws-kms-");
    const packer = await detectPacker();
    await writeTemplate(dir, { modern: packer.modern });
    await writeVarFile(dir, { ...common, stageDir: dir, manifestPath: path.join(dir, "m.json"), target: "aws", aws: { region: "eu-west-1", amiUsers: ["123456789012"] } });
    await expect(packerValidate("aws", { dir, logPath: path.join(dir, "log") })).rejects.toThrow(/Cannot share AMI encrypted with default KMS key/);
  });

  it("accepts the AWS build with dummy variables and no credentials", async () => {
    const dir = await tempDir("pkv-aws-");
    const packer = await detectPacker();
    await writeTemplate(dir, { modern: packer.modern });
    await writeVarFile(dir, { ...common, stageDir: dir, manifestPath: path.join(dir, "m.json"), target: "aws", aws: { region: "eu-west-1", amiRegions: ["us-east-1", "eu-central-1"], amiUsers: ["123456789012"], kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" } });
    const env = { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_PROFILE: "", AWS_CONFIG_FILE: "/nonexistent", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent" };
    await expect(packerValidate("aws", { dir, logPath: path.join(dir, "log"), env })).resolves.toBeUndefined();
  });

  it("accepts the qemu build: the base's kernel booted directly with the bake on its command line, no communicator", async () => {
    const dir = await tempDir("pkv-qemu-");
    const packer = await detectPacker();
    await writeTemplate(dir, { modern: packer.modern });
    await writeFile(path.join(dir, "base.qcow2"), "");
    const directBoot = { kernel: path.join(dir, "vmlinuz"), initrd: path.join(dir, "initrd.img"), cmdline: buildVmCmdline("root=PARTUUID=0a1b2c3d-01 ro console=tty0 console=ttyS0,115200") };
    await writeVarFile(dir, {
      ...common,
      stageDir: dir,
      manifestPath: path.join(dir, "m.json"),
      target: "qemu",
      qemu: { baseImage: path.join(dir, "base.qcow2"), baseImageChecksum: "none", outputDir: path.join(dir, "out"), accelerator: "tcg", stageIso: path.join(dir, "stage,1.iso"), directBoot, serialLog: path.join(dir, "console.log") },
    });
    await expect(packerValidate("qemu", { dir, logPath: path.join(dir, "log") })).resolves.toBeUndefined();
  });

  it("accepts the arm64 qemu build: aarch64 virt, the base's kernel booted directly (no firmware)", async () => {
    const dir = await tempDir("pkv-qemu-arm64-");
    const packer = await detectPacker();
    await writeTemplate(dir, { modern: packer.modern });
    await writeFile(path.join(dir, "base.qcow2"), "");
    const directBoot = { kernel: path.join(dir, "vmlinuz"), initrd: path.join(dir, "initrd.img"), cmdline: buildVmCmdline("root=PARTUUID=0a1b2c3d-01 ro console=tty0 console=ttyAMA0,115200") };
    await writeVarFile(dir, {
      ...common,
      arch: "arm64",
      imageName: "podplane-knc-debian-13-arm64-0123456789ab",
      stageDir: dir,
      manifestPath: path.join(dir, "m.json"),
      target: "qemu",
      qemu: { baseImage: path.join(dir, "base.qcow2"), baseImageChecksum: "none", outputDir: path.join(dir, "out"), accelerator: "tcg", stageIso: path.join(dir, "stage.iso"), directBoot, serialLog: path.join(dir, "console.log") },
    });
    await expect(packerValidate("qemu", { dir, logPath: path.join(dir, "log") })).resolves.toBeUndefined();
  });

  it("renders templates that `packer fmt` leaves as they are (both flavours)", async () => {
    for (const modern of [false, true]) {
      const dir = await tempDir("pkv-fmt-");
      await writeTemplate(dir, { modern });
      const result = await execa("packer", ["fmt", "-check", "-diff", dir], { reject: false });
      expect(result.exitCode, `${modern ? "modern" : "1.6.6"}:\n${result.stdout}`).toBe(0);
    }
  });

  it("rejects a template Packer cannot parse, with Packer's own message", async () => {
    const dir = await tempDir("pkv-bad-");
    await writeFile(path.join(dir, "podplane.pkr.hcl"), 'source "qemu" "podplane" { no_such_option = 1 }\nbuild {\n  name = "podplane"\n  sources = ["source.qemu.podplane"]\n}\n');
    await writeFile(path.join(dir, "podplane.pkrvars.json"), "{}");
    await expect(packerValidate("qemu", { dir, logPath: path.join(dir, "log") })).rejects.toThrow(/no_such_option/);
  });
});
