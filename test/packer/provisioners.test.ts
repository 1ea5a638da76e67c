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
  await put(root, "var/tmp/podplane-stage/artifacts.tsv", "x");
  return root;
}

function script(name: string, root: string) {
  return execa("bash", [path.join(PROVISIONER_SCRIPTS_DIR, name)], {
    reject: false,
    env: { PODPLANE_ROOT: root, BUILD_USER: "packer", STAGE: "/var/tmp/podplane-stage", DATASOURCES: "NoCloud, None" },
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
    expect(await readFile(path.join(root, "etc/passwd"), "utf8")).not.toContain("packer");
    await expect(stat(path.join(root, "etc/sudoers.d/90-cloud-init-users"))).rejects.toThrow(/ENOENT/);
    expect(await readFile(path.join(root, "etc/cloud/cloud.cfg.d/95-podplane-datasource.cfg"), "utf8")).toContain("datasource_list: [NoCloud, None]");
    expect(await readdir(path.join(root, "var/log"))).toEqual(["journal", "syslog"]);
    expect(await readFile(path.join(root, "var/log/syslog"), "utf8")).toBe("");
    expect(await readFile(path.join(root, "opt/podplane/share/installed.json"), "utf8")).toContain('"kind":"knd"');
  });

  it("refuses a datasource list that could inject YAML", async () => {
    const root = await dirtyRoot();
    const result = await execa("bash", [path.join(PROVISIONER_SCRIPTS_DIR, "cleanup-image.sh")], { reject: false, env: { PODPLANE_ROOT: root, DATASOURCES: "NoCloud]\nruncmd: [x" } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/DATASOURCES: expected names like/);
  });
});
