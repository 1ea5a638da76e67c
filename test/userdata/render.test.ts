// The slim user-data: values quoted so none break out, Nstance placeholders verbatim, both
// formats valid (bash -n, YAML), and what the script writes is what configure.sh parses.
import { execFileSync } from "node:child_process";
import { readFile, stat, writeFile, mkdir, chmod } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../pipeline/errors/index.js";
import { parseEnvText, renderUserData } from "../../pipeline/userdata/index.js";
import { tempDir, VMCONFIG_TREE } from "../vmconfig/helpers.js";

const NASTY: Array<[string, string]> = [
  ["INSTANCE_ID", "i-0abc"],
  ["SSH_AUTHORIZED_KEY", `ssh-ed25519 AAAA it's "quoted" $(touch /tmp/pp-pwned) \`id\` ; exit 1 \\ PODPLANE_USER_DATA_EOF`],
  ["OIDC_ISSUER", "https://issuer.example.com/{{ .Cluster.ID }}"],
  ["TELEMETRY_S3_ASSUME_ROLE", "'; rm -rf / #"],
];

/** Runs the rendered script with /opt/podplane under root, then reads user-data.env back through configure.sh's own parser. */
async function runScript(script: string): Promise<{ root: string; parsed: Record<string, string> }> {
  const root = await tempDir("pp-userdata-");
  await mkdir(path.join(root, "opt/podplane/bin"), { recursive: true });
  await writeFile(path.join(root, "opt/podplane/bin/configure.sh"), `#!/bin/bash\ntouch "${root}/configure-ran"\n`);
  await chmod(path.join(root, "opt/podplane/bin/configure.sh"), 0o755);
  execFileSync("bash", ["-c", script.replaceAll("/opt/podplane/", `${root}/opt/podplane/`)]);
  const dump = execFileSync(
    "bash",
    ["-c", `set -euo pipefail; source "$1"; declare -A e=(); read_env_file "$2" e; for k in "\${!e[@]}"; do printf '%s\\0%s\\0' "$k" "\${e[$k]}"; done`, "_", path.join(VMCONFIG_TREE, "opt/podplane/lib/common.sh"), path.join(root, "opt/podplane/etc/user-data.env")],
    { encoding: "utf8" },
  ).split("\0");
  const parsed: Record<string, string> = {};
  for (let i = 0; i + 1 < dump.length; i += 2) parsed[dump[i] ?? ""] = dump[i + 1] ?? "";
  return { root, parsed };
}

describe("renderUserData --format script", () => {
  it("is valid bash that writes user-data.env 0600 with every value intact, then runs configure.sh", async () => {
    const script = renderUserData({ kind: "knc", format: "script", env: NASTY });
    execFileSync("bash", ["-n"], { input: script });
    const { root, parsed } = await runScript(script);
    for (const [name, value] of NASTY) expect(parsed[name], name).toBe(value);
    expect(parsed.PODPLANE_KIND).toBe("knc");
    expect(parsed.NSTANCE_SERVER_REGISTRATION_ADDR).toBe("{{ .Server.RegistrationAddr }}");
    expect((await stat(path.join(root, "opt/podplane/etc/user-data.env"))).mode & 0o777).toBe(0o600);
    await expect(stat(path.join(root, "configure-ran"))).resolves.toBeTruthy();
    await expect(stat("/tmp/pp-pwned")).rejects.toThrow();
  });

  it("carries Nstance placeholders verbatim, unescaped", () => {
    const script = renderUserData({ kind: "knd", format: "script", env: [] });
    expect(script).toContain("NSTANCE_SERVER_REGISTRATION_ADDR='{{ .Server.RegistrationAddr }}'\n");
    expect(script).toContain("INSTANCE_ID='{{ .Instance.ID }}'\n");
    expect(script).not.toMatch(/&#x|&quot;|&amp;/);
    // the only {{ }} in the output are the placeholders inside quoted values
    for (const line of script.split("\n").filter((l) => l.includes("{{"))) expect(line).toMatch(/^[A-Z_]+='\{\{ \.[A-Za-z.]+ \}\}'$/);
  });

  it("leaves placeholders out with placeholders: false; an env value replaces its placeholder", () => {
    const script = renderUserData({ kind: "knd", format: "script", env: [["INSTANCE_ID", "i-1"]], placeholders: false });
    expect(script).not.toContain("{{");
    expect(script).toContain("INSTANCE_ID='i-1'\n");
    expect(script.match(/^[A-Z_]+=/gm)).toEqual(["PODPLANE_KIND=", "INSTANCE_ID="]);
  });

  it("writes user-data.env and runs configure.sh, nothing else", () => {
    const script = renderUserData({ kind: "knd", format: "script", env: [] });
    const commands = script
      .replace(/<<'PODPLANE_USER_DATA_EOF'\n(?:[A-Z_]+='[^\n]*'\n)+PODPLANE_USER_DATA_EOF\n/, "<<HEREDOC\n")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"));
    expect(commands).toEqual([
      "set -euo pipefail",
      "umask 077",
      "install -d -m 0755 /opt/podplane/etc",
      "cat >/opt/podplane/etc/.user-data.env.tmp <<HEREDOC",
      "chmod 0600 /opt/podplane/etc/.user-data.env.tmp",
      "mv -f /opt/podplane/etc/.user-data.env.tmp /opt/podplane/etc/user-data.env",
      "exec /opt/podplane/bin/configure.sh",
    ]);
  });
});

describe("renderUserData --format cloud-config", () => {
  it("parses as YAML with one write_files entry (0600) whose content is user-data.env, and runcmd configure.sh", async () => {
    const doc = renderUserData({ kind: "knc", format: "cloud-config", env: NASTY });
    expect(doc.startsWith("#cloud-config\n")).toBe(true);
    const parsed = parseYaml(doc) as { write_files: Array<{ path: string; permissions: string; content: string }>; runcmd: unknown };
    expect(Object.keys(parsed)).toEqual(["write_files", "runcmd"]);
    expect(parsed.write_files).toHaveLength(1);
    const file = parsed.write_files[0];
    expect(file?.path).toBe("/opt/podplane/etc/user-data.env");
    expect(file?.permissions).toBe("0600");
    expect(parsed.runcmd).toEqual([["/opt/podplane/bin/configure.sh"]]);
    // the content is exactly what the script form writes
    const { parsed: fromScript } = await runScript(renderUserData({ kind: "knc", format: "script", env: NASTY }));
    const root = await tempDir("pp-userdata-");
    await writeFile(path.join(root, "user-data.env"), file?.content ?? "");
    const fromYaml = execFileSync("bash", ["-c", `source "$1"; declare -A e=(); read_env_file "$2" e; printf '%s' "\${e[SSH_AUTHORIZED_KEY]}"`, "_", path.join(VMCONFIG_TREE, "opt/podplane/lib/common.sh"), path.join(root, "user-data.env")], { encoding: "utf8" });
    expect(fromYaml).toBe(fromScript.SSH_AUTHORIZED_KEY);
    expect(file?.content).toContain("NSTANCE_SERVER_AGENT_ADDR='{{ .Server.AgentAddr }}'\n");
    expect(await readFile(path.join(root, "user-data.env"), "utf8")).toMatch(/^PODPLANE_KIND='knc'\n/);
  });
});

describe("user-data input checks", () => {
  it("refuses unknown and invalid names, detected variables, control characters, a contradicting kind", () => {
    const bad: Array<[string, string]>[] = [
      [["LD_PRELOAD", "/x.so"]],
      [["node_ip", "1"]],
      [["NODE_IPV4", "10.0.0.1"]],
      [["SSH_AUTHORIZED_KEY", "a\nb"]],
      [["SSH_AUTHORIZED_KEY", "a\rb"]],
      [["CLUSTER_ID", "a\u0000b"]],
      [["PODPLANE_KIND", "knd"]],
      [["CLUSTER_ID", "a"], ["CLUSTER_ID", "b"]],
      [["SSH_AUTHORIZED_KEY", "x".repeat(4097)]],
    ];
    for (const env of bad) expect(() => renderUserData({ kind: "knc", format: "script", env }), JSON.stringify(env).slice(0, 60)).toThrow(UsageError);
  });

  it("parses env files: comments, blank lines, one pair of quotes stripped; rejects CRLF and bad lines", () => {
    expect(parseEnvText("# c\n\nA=1\nB='x y'\nC=\"it's\"\nD=a=b\n", "f")).toEqual([
      ["A", "1"],
      ["B", "x y"],
      ["C", "it's"],
      ["D", "a=b"],
    ]);
    expect(() => parseEnvText("A=1\r\n", "f")).toThrow(/f:1: carriage return/);
    expect(() => parseEnvText("just words\n", "f")).toThrow(/f:1: expected KEY=value/);
    expect(() => parseEnvText("A='open\n", "f")).toThrow(/unterminated quote/);
  });
});
