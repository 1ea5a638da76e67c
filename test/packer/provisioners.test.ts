// cleanup-image.sh and validate-image.sh on a fake root (PODPLANE_ROOT): what the bake's last
// step leaves behind, and that the validator fails the build on every kind of leftover.
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { PROVISIONER_SCRIPTS_DIR } from "../../pipeline/packer/index.js";
import { put, tempDir } from "./fake-packer.js";

/** A root as install.sh leaves it inside the build VM: full of instance state. */
async function dirtyRoot(): Promise<string> {
  const root = await tempDir("provision-");
  await put(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\npacker:x:1000:1000::/home/packer:/bin/bash\n");
  await put(root, "etc/group", "root:x:0:\npacker:x:1000:\n");
  await put(root, "etc/shadow", "root:*:19000:0:99999:7:::\npacker:!:19000:0:99999:7:::\n");
  await put(root, "etc/gshadow", "root:*::\npacker:!::\n");
  await put(root, "home/packer/.ssh/authorized_keys", "ssh-ed25519 AAAA build");
  await put(root, "home/packer/.bash_history", "sudo su\n");
  await put(root, "root/.ssh/authorized_keys", "ssh-ed25519 AAAA root");
  await put(root, "etc/sudoers.d/90-cloud-init-users", "packer ALL=(ALL) NOPASSWD:ALL\n");
  await put(root, "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  await put(root, "etc/ssh/ssh_host_ed25519_key", "PRIVATE");
  await put(root, "var/lib/cloud/instance/obj.pkl", "state");
  await put(root, "var/log/cloud-init.log", "ran\n");
  await put(root, "var/log/syslog", "lines\n");
  await put(root, "var/log/syslog.1", "old lines\n");
  await put(root, "var/log/journal/abc/system.journal", "journal");
  await put(root, "var/lib/apt/lists/deb.debian.org_InRelease", "x");
  await put(root, "opt/podplane/etc/user-data.env", "SECRET=1\n");
  await put(root, "opt/podplane/share/installed.json", '{"kind":"knd","artifacts":[],"units":[]}\n');
  // containerd's files install.sh writes when the pause image is preloaded: no node data in them.
  await put(root, "opt/env/containerd.env", "");
  await put(root, "etc/containerd/config.toml", "version = 3\n");
  await put(root, "opt/podplane/state/containerd.digest", `${"0".repeat(64)} /opt/env/containerd.env\n`);
  await put(root, "var/tmp/podplane-stage/artifacts.tsv", "x");
  await put(root, "etc/hostname", "podplane-bake\n");
  await put(root, "etc/hosts", "127.0.0.1 localhost\n127.0.1.1 podplane-bake.localdomain podplane-bake\n::1 localhost ip6-localhost\n");
  await put(root, "var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n");
  await put(root, "var/lib/systemd/random-seed", "seed");
  await put(root, "var/lib/systemd/credential.secret", "secret");
  await put(root, "var/lib/dhcpcd/enp0s3.lease", "lease");
  return root;
}

/** Residue the build VM can leave, one at a time, with the finding validate-image.sh must print. */
const RESIDUES: Array<{ what: string; file: string; content: string; finding: string }> = [
  { what: "the build VM's hostname", file: "etc/hostname", content: "podplane-bake\n", finding: "/etc/hostname is 'podplane-bake' (expected empty or localhost)" },
  { what: "any other hostname", file: "etc/hostname", content: "ip-10-0-0-12\n", finding: "/etc/hostname is 'ip-10-0-0-12'" },
  { what: "the build host in /etc/hosts", file: "etc/hosts", content: "127.0.0.1 localhost\n127.0.1.1 podplane-bake\n", finding: "/etc/hosts names the build host podplane-bake" },
  { what: "a machine ID", file: "etc/machine-id", content: "0123456789abcdef0123456789abcdef\n", finding: "/etc/machine-id is not empty" },
  { what: "a D-Bus machine ID", file: "var/lib/dbus/machine-id", content: "0123456789abcdef0123456789abcdef\n", finding: "/var/lib/dbus/machine-id is not empty" },
  { what: "an SSH host key", file: "etc/ssh/ssh_host_ed25519_key.pub", content: "ssh-ed25519 AAAA", finding: "SSH host key left: /etc/ssh/ssh_host_ed25519_key.pub" },
  { what: "the random seed", file: "var/lib/systemd/random-seed", content: "seed", finding: "per-machine secret left: /var/lib/systemd/random-seed" },
  { what: "a DHCP lease", file: "var/lib/dhcpcd/enp0s3.lease", content: "lease", finding: "DHCP leases left" },
  { what: "the build user", file: "etc/passwd", content: "root:x:0:0:root:/root:/bin/bash\npacker:x:1000:1000::/home/packer:/bin/bash\n", finding: "build user packer still exists" },
  { what: "the build user's group", file: "etc/group", content: "root:x:0:\npacker:x:1000:\n", finding: "build user's group packer still exists" },
  { what: "the build user's home", file: "home/packer/.profile", content: "", finding: "/home/packer still exists" },
  { what: "the build user's sudo rule", file: "etc/sudoers.d/90-cloud-init-users", content: "packer ALL=(ALL) NOPASSWD:ALL\n", finding: "sudo rule for the build user left: /etc/sudoers.d/90-cloud-init-users" },
  { what: "the build user's key", file: "root/.ssh/authorized_keys", content: "ssh-ed25519 AAAA build", finding: "authorized_keys left: /root/.ssh/authorized_keys" },
  { what: "a log", file: "var/log/cloud-init-output.log", content: "ran\n", finding: "non-empty log files left in /var/log" },
  { what: "the persistent journal", file: "var/log/journal/abc/system.journal", content: "j", finding: "persistent journal left in /var/log/journal" },
];

function script(name: string, root: string) {
  return execa("bash", [path.join(PROVISIONER_SCRIPTS_DIR, name)], {
    reject: false,
    env: { PODPLANE_ROOT: root, BUILD_USER: "packer", BUILD_HOSTNAME: "podplane-bake", STAGE: "/var/tmp/podplane-stage", DATASOURCES: "NoCloud, None" },
  });
}

describe("bake-time cleanup and validation", () => {
  it("the validator lists every leftover of an uncleaned image and fails", async () => {
    const root = await dirtyRoot();
    const result = await script("validate-image.sh", root);
    expect(result.exitCode).toBe(1);
    for (const finding of [
      "/etc/machine-id is not empty",
      "SSH host key left: /etc/ssh/ssh_host_ed25519_key",
      "authorized_keys left: /root/.ssh/authorized_keys",
      "build user packer still exists",
      "cloud-init state left in /var/lib/cloud",
      "env file left: /opt/podplane/etc/user-data.env",
      "stage directory left: /var/tmp/podplane-stage",
      "apt lists left in /var/lib/apt/lists",
      "shell history left: /home/packer/.bash_history",
      "persistent journal left in /var/log/journal",
      "non-empty log files left in /var/log",
      "cloud-init datasources are not restricted to NoCloud, None",
      "/etc/hostname is 'podplane-bake' (expected empty or localhost)",
      "/etc/hosts names the build host podplane-bake",
      "/var/lib/dbus/machine-id is not empty",
      "per-machine secret left: /var/lib/systemd/random-seed",
      "per-machine secret left: /var/lib/systemd/credential.secret",
      "DHCP leases left",
      "build user's group packer still exists",
      "sudo rule for the build user left: /etc/sudoers.d/90-cloud-init-users",
    ]) {
      expect(result.stderr).toContain(`validate-image: ${finding}`);
    }
  });

  it("cleanup leaves an image the validator accepts: identity, user, secrets, logs and state gone", async () => {
    const root = await dirtyRoot();
    const cleanup = await script("cleanup-image.sh", root);
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    const validate = await script("validate-image.sh", root);
    expect(validate.stderr).toBe("validate-image: clean");
    expect(validate.exitCode).toBe(0);
    expect(await readFile(path.join(root, "etc/machine-id"), "utf8")).toBe("");
    expect(await readFile(path.join(root, "etc/hostname"), "utf8")).toBe("localhost\n");
    expect(await readFile(path.join(root, "etc/hosts"), "utf8")).toBe("127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
    expect(await readFile(path.join(root, "etc/group"), "utf8")).not.toContain("packer");
    expect(await readFile(path.join(root, "etc/passwd"), "utf8")).not.toContain("packer");
    await expect(stat(path.join(root, "etc/sudoers.d/90-cloud-init-users"))).rejects.toThrow(/ENOENT/);
    expect(await readFile(path.join(root, "etc/cloud/cloud.cfg.d/95-podplane-datasource.cfg"), "utf8")).toContain("datasource_list: [NoCloud, None]");
    expect(await readdir(path.join(root, "var/log"))).toEqual(["journal", "syslog"]);
    expect(await readFile(path.join(root, "var/log/syslog"), "utf8")).toBe("");
    expect(await readFile(path.join(root, "opt/podplane/share/installed.json"), "utf8")).toContain('"kind":"knd"');
    // containerd starts at every boot from these: they stay (the same in every instance).
    for (const file of ["opt/env/containerd.env", "etc/containerd/config.toml", "opt/podplane/state/containerd.digest"]) await stat(path.join(root, file));
  });

  for (const residue of RESIDUES) {
    it(`fails the bake on ${residue.what} left in a cleaned image`, async () => {
      const root = await dirtyRoot();
      expect((await script("cleanup-image.sh", root)).exitCode).toBe(0);
      expect((await script("validate-image.sh", root)).exitCode).toBe(0);
      await put(root, residue.file, residue.content);
      const result = await script("validate-image.sh", root);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`validate-image: ${residue.finding}`);
    });
  }

  it("accepts an empty /etc/hostname (cloud-init sets the name at first boot)", async () => {
    const root = await dirtyRoot();
    await script("cleanup-image.sh", root);
    await put(root, "etc/hostname", "");
    expect((await script("validate-image.sh", root)).exitCode).toBe(0);
  });

  it("refuses a datasource list that could inject YAML", async () => {
    const root = await dirtyRoot();
    const result = await execa("bash", [path.join(PROVISIONER_SCRIPTS_DIR, "cleanup-image.sh")], { reject: false, env: { PODPLANE_ROOT: root, DATASOURCES: "NoCloud]\nruncmd: [x" } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/DATASOURCES: expected names like/);
  });
});
