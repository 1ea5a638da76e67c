import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { TEMPLATE_SOURCE, packerVariables, renderTemplate, sourceName, templateDigest, type BakeVariables } from "../../pipeline/packer/index.js";

async function source(): Promise<string> {
  return readFile(TEMPLATE_SOURCE, "utf8");
}

const common: Omit<BakeVariables, "target"> = {
  kind: "knc",
  arch: "amd64",
  os: "debian-13",
  imageName: "podplane-knc-debian-13-amd64-0123456789ab",
  inputHash: "0123456789ab".padEnd(64, "0"),
  stageDir: "/w/stage",
  scriptsDir: "/p/packer/scripts",
  manifestPath: "/w/packer-manifest.json",
  tags: { "podplane:kind": "knc", "podplane:dep:kubelet": "1.36.1" },
};

describe("template rendering", () => {
  it("for Packer 1.6.6: both sources, no required_plugins, no IMDS settings it cannot parse", async () => {
    const hcl = renderTemplate(await source(), { modern: false });
    expect(hcl).toContain('source "qemu" "podplane"');
    expect(hcl).toContain('source "amazon-ebs" "podplane"');
    expect(hcl).not.toContain("required_plugins");
    expect(hcl).not.toContain("metadata_options");
    expect(hcl).not.toContain("imds_support");
    // No display on any interface but the loopback one.
    expect(hcl).toMatch(/vnc_bind_address\s+= "127\.0\.0\.1"/);
    expect(hcl).toContain("encrypt_boot = true");
    expect(hcl).toContain('post-processor "manifest"');
    expect(hcl).toContain("tar -xzf $STAGE/vmconfig.tar.gz -C $VMCONFIG && sudo bash $VMCONFIG/opt/podplane/bin/install.sh ${var.kind} $STAGE");
    expect(hcl).not.toMatch(/\{\{#|\{\{\//);
    expect(hcl).toContain("DATASOURCES='${var.datasources}'");
  });

  it("qemu reads the stage from a read-only virtio disk and bakes without a communicator; only aws uploads over SSH", async () => {
    const hcl = renderTemplate(await source(), { modern: false });
    // Read-only at both layers (the raw format node and the file under it), commas escaped for QEMU.
    expect(hcl).toContain('["-blockdev", "driver=raw,node-name=stage,read-only=on,file.driver=file,file.read-only=on,file.filename=${replace(var.stage_iso, ",", ",,")}"]');
    // In the last PCI slot, so that the image's own disk stays the first; no CD any more.
    expect(hcl).toContain('["-device", "virtio-blk-pci,drive=stage,addr=0x1f"]');
    expect(hcl).not.toContain("-cdrom");
    // A -drive would replace Packer's own disks; a -device replaces its NIC, so the NIC is named.
    expect(hcl).not.toMatch(/\["-drive"/);
    expect(hcl).toContain('["-device", "${var.net_device},netdev=user.0"],\n  ], var.direct_boot_args)');
    // No SSH into the build VM: no communicator, no forward, no seed; Packer waits for its power-off.
    const qemuSource = hcl.slice(hcl.indexOf('source "qemu" "podplane"'), hcl.indexOf('source "amazon-ebs" "podplane"'));
    expect(qemuSource).toContain('communicator     = "none"');
    expect(qemuSource).toContain("shutdown_timeout = var.bake_timeout");
    expect(qemuSource).not.toMatch(/ssh_|hostfwd|cd_files|shutdown_command/);
    expect(qemuSource).toContain('["-netdev", "user,id=user.0,restrict=on"]');
    expect(qemuSource).toContain('["-serial", "file:${var.serial_log}"]');
    // Every provisioner is aws's.
    const provisioners = hcl.match(/provisioner "[a-z]+" \{[^]*?\n {2}\}/g) ?? [];
    expect(provisioners.length).toBeGreaterThan(3);
    for (const block of provisioners) expect(block).toMatch(/^provisioner "[a-z]+" \{\s*only\s*= \["amazon-ebs.podplane"\]/);
    expect(hcl.match(/source\s*= "\$\{var.stage_dir\}\/"/g)).toHaveLength(1);
    expect(hcl).toMatch(/bash \\"\$BAKE_DIR\/cleanup-image.sh\\" && bash \\"\$BAKE_DIR\/validate-image.sh\\"/);
  });

  it("for modern Packer: required_plugins for qemu and amazon, IMDSv2 required", async () => {
    const hcl = renderTemplate(await source(), { modern: true });
    expect(hcl).toMatch(/required_plugins \{[\s\S]*github.com\/hashicorp\/qemu[\s\S]*github.com\/hashicorp\/amazon/);
    expect(hcl).toContain('http_tokens                 = "required"');
    expect(hcl).toContain('imds_support  = "v2.0"');
  });

  it("names the -only source per target", () => {
    expect(sourceName("qemu")).toBe("podplane.qemu.podplane");
    expect(sourceName("aws")).toBe("podplane.amazon-ebs.podplane");
  });
});

describe("packerVariables", () => {
  const directBoot = { kernel: "/c/vmlinuz", initrd: "/c/initrd.img", cmdline: "root=PARTUUID=abcd-01 ro console=ttyS0,115200 systemd.run=x" };
  const qemu = { baseImage: "/c/base.qcow2", baseImageChecksum: "sha256:ab", outputDir: "/w/out", accelerator: "tcg" as const, stageIso: "/w/stage.iso", directBoot, serialLog: "/o/logs/x.console.log" };

  it("arm64 qemu: qemu-system-aarch64 on virt, -cpu max with pauth-impdef; no firmware (the kernel is booted directly)", () => {
    const vars = packerVariables({ ...common, arch: "arm64", target: "qemu", qemu });
    expect(vars).toMatchObject({ qemu_binary: "qemu-system-aarch64", qemu_machine: "virt", cpu_model: "max,pauth-impdef=on", accelerator: "tcg" });
    expect(JSON.stringify(vars)).not.toMatch(/pflash|AAVMF/);
  });

  it("qemu: TCG uses -cpu max; the stage disk, the console log; no build user", () => {
    const vars = packerVariables({ ...common, target: "qemu", qemu });
    expect(vars).toMatchObject({ accelerator: "tcg", cpu_model: "max", base_image: "/c/base.qcow2", base_image_checksum: "sha256:ab", build_user: "", qemu_binary: "qemu-system-x86_64", stage_iso: "/w/stage.iso", serial_log: "/o/logs/x.console.log", bake_timeout: "40m" });
    expect(vars).not.toHaveProperty("aws_region");
    expect(vars.datasources).toBe("NoCloud, None");
  });

  it("qemu: the base's kernel, initrd and the bake's command line as -kernel/-initrd/-append", () => {
    expect(packerVariables({ ...common, target: "qemu", qemu }).direct_boot_args).toEqual([
      ["-kernel", "/c/vmlinuz"],
      ["-initrd", "/c/initrd.img"],
      ["-append", "root=PARTUUID=abcd-01 ro console=ttyS0,115200 systemd.run=x"],
    ]);
  });

  it("qemu: one vCPU under TCG (no multi-threaded TCG in the build VM), the asked number under KVM", () => {
    const asked = { ...qemu, cpus: 4 };
    expect(packerVariables({ ...common, target: "qemu", qemu: { ...asked, accelerator: "tcg" } }).cpus).toBe(1);
    expect(packerVariables({ ...common, target: "qemu", qemu: { ...asked, accelerator: "kvm" } }).cpus).toBe(4);
    expect(packerVariables({ ...common, target: "qemu", qemu: { ...asked, cpus: undefined, accelerator: "kvm" } }).cpus).toBe(2);
  });

  it("aws: the official Debian 13 AMI of the arch, regions, sharing, tags; the build user admin", () => {
    const vars = packerVariables({ ...common, arch: "arm64", target: "aws", aws: { region: "eu-west-1", amiRegions: ["eu-central-1"], amiUsers: ["123456789012"], amiGroups: ["all"] } });
    expect(vars).toMatchObject({
      aws_region: "eu-west-1",
      ami_regions: ["eu-central-1"],
      ami_users: ["123456789012"],
      ami_groups: ["all"],
      aws_source_ami_name: "debian-13-arm64-*",
      aws_source_ami_architecture: "arm64",
      aws_instance_type: "t4g.medium",
      build_user: "admin",
      datasources: "Ec2, None",
      tags: common.tags,
    });
  });
});

describe("templateDigest", () => {
  it("changes when any template or script file changes", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tpl-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await mkdir(path.join(dir, "scripts"));
    await writeFile(path.join(dir, "podplane.pkr.hcl.hbs"), "a");
    await writeFile(path.join(dir, "scripts", "cleanup-image.sh"), "b");
    const first = await templateDigest(dir);
    expect(await templateDigest(dir)).toBe(first);
    await writeFile(path.join(dir, "scripts", "cleanup-image.sh"), "c");
    const second = await templateDigest(dir);
    expect(second).not.toBe(first);
    await writeFile(path.join(dir, "scripts", "validate-image.sh"), "");
    expect(await templateDigest(dir)).not.toBe(second);
  });
});
