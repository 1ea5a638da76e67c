import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { parse } from "yaml";
import { TEMPLATE_SOURCE, buildSeedUserData, packerVariables, renderTemplate, seedUserData, sourceName, templateDigest, type BakeVariables } from "../../pipeline/packer/index.js";

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
    // Packer's own template expression survives handlebars untouched.
    // SSH to a passwordless-sudo user: forwarded on the loopback interface only, never on all interfaces.
    expect(hcl).toContain('"user,id=user.0,restrict=on,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"');
    expect(hcl).not.toMatch(/hostfwd=tcp::/);
    expect(hcl).toMatch(/vnc_bind_address\s+= "127\.0\.0\.1"/);
    expect(hcl).toContain("encrypt_boot = true");
    expect(hcl).toContain('post-processor "manifest"');
    expect(hcl).toContain("tar -xzf $STAGE/vmconfig.tar.gz -C $VMCONFIG && sudo bash $VMCONFIG/opt/podplane/bin/install.sh ${var.kind} $STAGE");
    expect(hcl).not.toMatch(/\{\{#|\{\{\//);
    expect(hcl).toContain("DATASOURCES='${var.datasources}'");
  });

  it("qemu reads the stage from a read-only virtio disk, only aws uploads it over SSH", async () => {
    const hcl = renderTemplate(await source(), { modern: false });
    // Read-only at both layers (the raw format node and the file under it), commas escaped for QEMU.
    expect(hcl).toContain('["-blockdev", "driver=raw,node-name=stage,read-only=on,file.driver=file,file.read-only=on,file.filename=${replace(var.stage_iso, ",", ",,")}"]');
    // In the last PCI slot, so that SeaBIOS still boots the image's disk; no CD any more.
    expect(hcl).toContain('["-device", "virtio-blk-pci,drive=stage,addr=0x1f"]');
    expect(hcl).not.toContain("-cdrom");
    // A -drive would replace Packer's own disks; a -device replaces its NIC, so the NIC is named.
    expect(hcl).not.toMatch(/\["-drive"/);
    expect(hcl).toContain('["-device", "${var.net_device},netdev=user.0"],\n  ], var.direct_boot_args)');
    expect(hcl).toContain(`only = ["qemu.podplane"]\n    inline = [\n      "sudo sh -c 'mkdir -p \${var.remote_stage_dir} && mount -o ro -t iso9660 \\"$(blkid -L \${var.stage_label})\\" \${var.remote_stage_dir}' && mkdir -p \${var.remote_scripts_dir}",`);
    const stageUpload = /provisioner "file" \{\s*only\s*= \["amazon-ebs.podplane"\]\s*source\s*= "\$\{var.stage_dir\}\/"/;
    expect(hcl).toMatch(stageUpload);
    expect(hcl.match(/source\s*= "\$\{var.stage_dir\}\/"/g)).toHaveLength(1);
    // The mounted stage is let go before the cleanup removes its directory; then a forced poweroff.
    expect(hcl).toMatch(/umount \\"\$STAGE\\"; \} && bash \\"\$BAKE_DIR\/cleanup-image.sh\\" && bash \\"\$BAKE_DIR\/validate-image.sh\\"/);
    // The poweroff fires when Packer's shutdown_command (as the removed build user) touches a file
    // in a world-writable directory on /run (tmpfs: nothing reaches the image); a 60 s timer backs it.
    expect(hcl).toContain("install -d -m 1777 /run/podplane-bake && systemd-run --quiet --path-property=PathExists=/run/podplane-bake/poweroff systemctl poweroff --force && systemd-run --quiet --on-active=60 --timer-property=AccuracySec=1s systemctl poweroff --force");
    expect(hcl).toContain('shutdown_command = "touch /run/podplane-bake/poweroff"');
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
  it("qemu: TCG uses -cpu max, the seed and key, the build user packer", () => {
    const vars = packerVariables({
      ...common,
      target: "qemu",
      qemu: { baseImage: "/c/base.qcow2", baseImageChecksum: "sha256:ab", outputDir: "/w/out", accelerator: "tcg", seedFiles: ["/w/seed/user-data", "/w/seed/meta-data"], stageIso: "/w/stage.iso", sshUsername: "packer", sshPrivateKeyFile: "/w/key" },
    });
    expect(vars).toMatchObject({ accelerator: "tcg", cpu_model: "max", base_image: "/c/base.qcow2", base_image_checksum: "sha256:ab", build_user: "packer", qemu_binary: "qemu-system-x86_64", seed_files: ["/w/seed/user-data", "/w/seed/meta-data"], stage_iso: "/w/stage.iso" });
    expect(vars).not.toHaveProperty("aws_region");
    expect(vars.datasources).toBe("NoCloud, None");
  });

  it("qemu: the base's kernel, initrd and command line as -kernel/-initrd/-append when given, else none (GRUB boots)", () => {
    const qemu = { baseImage: "/b", baseImageChecksum: "none", outputDir: "/o", accelerator: "tcg" as const, seedFiles: [], stageIso: "/s", sshUsername: "packer", sshPrivateKeyFile: "/k" };
    expect(packerVariables({ ...common, target: "qemu", qemu }).direct_boot_args).toEqual([]);
    const directBoot = { kernel: "/c/vmlinuz", initrd: "/c/initrd.img", cmdline: "root=PARTUUID=abcd-01 ro console=ttyS0,115200" };
    expect(packerVariables({ ...common, target: "qemu", qemu: { ...qemu, directBoot } }).direct_boot_args).toEqual([
      ["-kernel", "/c/vmlinuz"],
      ["-initrd", "/c/initrd.img"],
      ["-append", "root=PARTUUID=abcd-01 ro console=ttyS0,115200"],
    ]);
  });

  it("qemu: one vCPU under TCG (no multi-threaded TCG in the build VM), the asked number under KVM", () => {
    const qemu = { baseImage: "/b", baseImageChecksum: "none", outputDir: "/o", seedFiles: [], stageIso: "/s", sshUsername: "packer", sshPrivateKeyFile: "/k", cpus: 4 };
    expect(packerVariables({ ...common, target: "qemu", qemu: { ...qemu, accelerator: "tcg" } }).cpus).toBe(1);
    expect(packerVariables({ ...common, target: "qemu", qemu: { ...qemu, accelerator: "kvm" } }).cpus).toBe(4);
    expect(packerVariables({ ...common, target: "qemu", qemu: { ...qemu, cpus: undefined, accelerator: "kvm" } }).cpus).toBe(2);
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

describe("the build VM's seed", () => {
  it("keeps the build user's access and runs only the init modules the bake needs", () => {
    const text = buildSeedUserData("packer", "ssh-ed25519 AAAA build");
    expect(text.startsWith(seedUserData("packer", "ssh-ed25519 AAAA build"))).toBe(true);
    const doc = parse(text) as Record<string, unknown>;
    expect(doc.cloud_init_modules).toEqual(["growpart", "resizefs", "set_hostname", "update_hostname", "update_etc_hosts", "users-groups", "ssh"]);
    expect(doc.cloud_config_modules).toEqual([]);
    expect(doc.cloud_final_modules).toEqual([]);
    // The boot test's seed (same function underneath) runs every module.
    expect(seedUserData("podplane", "ssh-ed25519 AAAA test")).not.toContain("_modules");
  });
});
