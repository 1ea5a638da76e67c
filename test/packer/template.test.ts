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

  it("qemu reads the stage from a read-only CD, only aws uploads it over SSH", async () => {
    const hcl = renderTemplate(await source(), { modern: false });
    expect(hcl).toContain('["-cdrom", var.stage_iso]');
    // A -drive or -device in qemuargs would replace Packer's own disk and NIC arguments.
    expect(hcl).not.toMatch(/\["-(drive|device)"/);
    expect(hcl).toMatch(/only = \["qemu.podplane"\]\s*inline = \[\s*"sudo mkdir -p \$\{var.remote_stage_dir\} && sudo mount -o ro -t iso9660 \\"\$\(sudo blkid -L \$\{var.stage_label\}\)\\" \$\{var.remote_stage_dir\}/);
    const stageUpload = /provisioner "file" \{\s*only\s*= \["amazon-ebs.podplane"\]\s*source\s*= "\$\{var.stage_dir\}\/"/;
    expect(hcl).toMatch(stageUpload);
    expect(hcl.match(/source\s*= "\$\{var.stage_dir\}\/"/g)).toHaveLength(1);
    // The mounted stage is let go before the cleanup removes its directory; then a forced poweroff.
    expect(hcl).toMatch(/umount \\"\$STAGE\\"; \} && bash \\"\$BAKE_DIR\/cleanup-image.sh\\" && bash \\"\$BAKE_DIR\/validate-image.sh\\"/);
    // 5 s for Packer's shutdown_command session; without AccuracySec systemd fires it up to 1 min late.
    expect(hcl).toContain("systemd-run --quiet --on-active=5 --timer-property=AccuracySec=100ms systemctl poweroff --force");
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
