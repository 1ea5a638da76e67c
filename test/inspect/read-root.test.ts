import { copyFile, mkdir, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";
import { inspectRoot, parseDpkgStatus } from "../../pipeline/inspect/index.js";
import { put, tempDir } from "../packer/fake-packer.js";
import { reportLines } from "../../pipeline/commands/inspect.js";

/** A clean baked knd root, as install.sh + cleanup-image.sh leave it. */
async function cleanRoot(): Promise<string> {
  const root = await tempDir("inspect-root-");
  await put(root, "etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\n');
  await put(root, "boot/vmlinuz-6.12.117+deb13-cloud-amd64", "");
  await put(root, "etc/machine-id", "");
  await put(root, "etc/cloud/cloud.cfg.d/95-podplane-datasource.cfg", "# podplane-images\ndatasource_list: [NoCloud, None]\n");
  await put(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nzot:x:999:999::/nonexistent:/usr/sbin/nologin\n");
  await put(root, "var/log/dpkg.log", "");
  await put(root, "usr/local/bin/kubelet", "#!/bin/sh\n", 0o755);
  await put(root, "var/lib/dpkg/status", "Package: libpq5\nStatus: install ok installed\nVersion: 17.9-0+deb13u1\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n");
  await mkdir(path.join(root, "opt/podplane/share"), { recursive: true });
  await copyFile(path.join(PROJECT_ROOT, "scripts/vmconfig/opt/podplane/share/services.tsv"), path.join(root, "opt/podplane/share/services.tsv"));
  const installed = {
    kind: "knd",
    artifacts: [
      { name: "kubelet", version: "1.36.1", digest: "sha256:a", paths: ["/usr/local/bin/kubelet"] },
      { name: "libpq5", version: "17.9-0+deb13u1", digest: "sha256:b", paths: [] },
    ],
    units: ["kubelet.service", "zot.service"],
    images: [{ image: "registry.k8s.io/pause:3.10.2", platform: "linux/amd64", index: `sha256:${"1".repeat(64)}`, digest: `sha256:${"2".repeat(64)}` }],
  };
  await put(root, "opt/podplane/share/installed.json", JSON.stringify(installed));
  for (const unit of installed.units) await put(root, `etc/systemd/system/${unit}`, "[Unit]\n");
  await mkdir(path.join(root, "etc/systemd/system/multi-user.target.wants"), { recursive: true });
  await symlink("/etc/systemd/system/kubelet.service", path.join(root, "etc/systemd/system/multi-user.target.wants/kubelet.service"));
  return root;
}

describe("inspecting an image root", () => {
  it("reports a clean image: files, packages, units (always vs run-time), no findings", async () => {
    const root = await cleanRoot();
    const report = await inspectRoot(root, "x.qcow2");
    expect(report.os).toBe("Debian GNU/Linux 13 (trixie)");
    expect(report.kernels).toEqual(["6.12.117+deb13-cloud-amd64"]);
    expect(report.artifacts[0]?.files).toEqual([{ path: "/usr/local/bin/kubelet", present: true, executable: true, size: 10 }]);
    expect(report.artifacts[1]).toMatchObject({ name: "libpq5", package: "17.9-0+deb13u1" });
    expect(report.units).toEqual([
      { name: "kubelet.service", present: true, enabled: true, wantedBy: ["multi-user.target.wants"], expectEnabled: true },
      { name: "zot.service", present: true, enabled: false, wantedBy: [], expectEnabled: false, condition: "REGISTRY_ENABLED=true" },
    ]);
    expect(report.hygiene).toEqual({ ok: true, findings: [] });
    expect(report.ok).toBe(true);
    // The container images the bake imported, with their digests, in --json and in the text.
    expect(report.installed?.images).toEqual([{ image: "registry.k8s.io/pause:3.10.2", platform: "linux/amd64", index: `sha256:${"1".repeat(64)}`, digest: `sha256:${"2".repeat(64)}` }]);
    const lines = reportLines(report);
    expect(lines).toContain(`  image registry.k8s.io/pause:3.10.2 linux/amd64: index sha256:${"1".repeat(64)}, manifest sha256:${"2".repeat(64)}`);
    expect(lines[2]).toBe("  kind: knd; 2 artifacts, 2 units, 1 container images");
  });

  it("finds leftovers: host keys, env files, the build user, logs, machine-id, a missing binary, a unit not enabled", async () => {
    const root = await cleanRoot();
    await put(root, "etc/ssh/ssh_host_ed25519_key", "secret");
    await put(root, "opt/podplane/etc/user-data.env", "X=1\n");
    await put(root, "etc/passwd", "root:x:0:0::/root:/bin/bash\npacker:x:1000:1000::/home/packer:/bin/bash\n");
    await put(root, "home/packer/.ssh/authorized_keys", "ssh-ed25519 AAAA");
    await put(root, "var/log/syslog", "boot messages\n");
    await put(root, "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    await put(root, "var/lib/apt/lists/deb.debian.org_debian_dists_trixie_InRelease", "x");
    await rm(path.join(root, "etc/cloud/cloud.cfg.d/95-podplane-datasource.cfg"));
    await rm(path.join(root, "usr/local/bin/kubelet"));
    await rm(path.join(root, "etc/systemd/system/multi-user.target.wants/kubelet.service"));
    const report = await inspectRoot(root, "x.qcow2");
    expect(report.ok).toBe(false);
    expect(report.artifacts[0]?.files[0]?.present).toBe(false);
    expect(report.units[0]).toMatchObject({ enabled: false, expectEnabled: true });
    expect(report.hygiene.findings).toEqual(
      expect.arrayContaining([
        "/etc/machine-id is not empty",
        "SSH host key left: /etc/ssh/ssh_host_ed25519_key",
        "authorized_keys left: /home/packer/.ssh/authorized_keys",
        "build user packer still exists",
        "env file left: /opt/podplane/etc/user-data.env",
        "apt lists left in /var/lib/apt/lists",
        "non-empty log files left in /var/log",
        "cloud-init datasources are not restricted to NoCloud, None",
      ]),
    );
  });

  it("says when an image was not baked by install.sh", async () => {
    const root = await tempDir("inspect-empty-");
    await put(root, "etc/passwd", "root:x:0:0::/root:/bin/bash\n");
    const report = await inspectRoot(root, "base.qcow2");
    expect(report.installed).toBeNull();
    expect(report.ok).toBe(false);
    expect(report.hygiene.findings).toContain("/opt/podplane/share/installed.json is missing");
  });

  it("reads installed packages from dpkg's status file", () => {
    const status = "Package: a\nStatus: install ok installed\nVersion: 1.0\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n";
    expect([...parseDpkgStatus(status)]).toEqual([["a", "1.0"]]);
  });
});
