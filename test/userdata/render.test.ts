// The slim user-data: valid bash, Nstance's placeholders verbatim and nothing else templated,
// and, run in a temp root with stubs and a local TCP listener as the registration address,
// it writes user-data.env, the identity files and the admin user's files with the right
// content and modes, then runs configure.sh and restart.sh.
import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { execa } from "execa";
import { parse as parseYaml } from "yaml";
import { describe, expect, it, onTestFinished } from "vitest";
import { UsageError } from "../../pipeline/errors/index.js";
import { LAUNCH_PLACEHOLDERS, parseEnvText, renderUserData, USER_DATA_ENV_FIELDS, type RenderOptions } from "../../pipeline/userdata/index.js";
import { tempDir } from "../helpers/temp-dir.js";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBfake0123456789abcdef\nline2+/=\n-----END CERTIFICATE-----";
const KEYS = `ssh-ed25519 AAAAone it's "quoted" $(touch /tmp/pp-pwned) \`id\` ; exit 1 \\\nssh-ed25519 AAAAtwo second@key`;

async function listener(): Promise<{ addr: string; connections: () => number }> {
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as net.AddressInfo;
  return { addr: `127.0.0.1:${port}`, connections: () => count };
}

async function closedPort(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

function envFor(addr: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  const base: Record<string, string> = {
    INSTANCE_ID: "i-0abc123",
    CLUSTER_ID: "c-test",
    PROVIDER_KIND: "local",
    PROVIDER_REGION: "local-1",
    PROVIDER_ZONE: "local-1a",
    PROVIDER_INSTANCE_TYPE: "small",
    NSTANCE_CA_CERT: CA,
    NSTANCE_SERVER_REGISTRATION_ADDR: addr,
    NSTANCE_SERVER_AGENT_ADDR: "127.0.0.1:8444",
  };
  for (const [k, v] of extra) base[k] = v;
  return Object.entries(base);
}

const STUBS = ["hostnamectl", "groupadd", "useradd", "chown", "systemctl"];

/** Runs a rendered script with every absolute path it writes moved under a temp root. */
async function runInRoot(script: string, options: { systemctlHasSsm?: boolean } = {}): Promise<{ root: string; calls: string[]; code: number; output: string }> {
  const root = await tempDir("pp-userdata-");
  const stubs = path.join(root, "stubs");
  await mkdir(stubs, { recursive: true });
  await mkdir(path.join(root, "opt/podplane/bin"), { recursive: true });
  const log = path.join(root, "calls.log");
  for (const name of STUBS) {
    const body = name === "systemctl" ? `[ "$1" = cat ] && exit ${options.systemctlHasSsm ? 0 : 1}\nexit 0` : "exit 0";
    await writeFile(path.join(stubs, name), `#!/bin/bash\necho "${name} $*" >>"${log}"\n${body}\n`);
  }
  // Not found: no admin group or user, no nstance-agent user in the temp root.
  await writeFile(path.join(stubs, "getent"), `#!/bin/bash\necho "getent $*" >>"${log}"\nexit 2\n`);
  await writeFile(path.join(stubs, "id"), `#!/bin/bash\necho "id $*" >>"${log}"\nexit 1\n`);
  for (const [name, check] of [
    ["configure.sh", `[ -f "${root}/opt/podplane/etc/user-data.env" ] || { echo "configure.sh: no user-data.env" >&2; exit 9; }`],
    ["restart.sh", ""],
  ]) {
    await writeFile(path.join(root, "opt/podplane/bin", name as string), `#!/bin/bash\n${check}\necho "${name}" >>"${log}"\n`);
  }
  for (const name of [...STUBS, "getent", "id"]) await chmod(path.join(stubs, name), 0o755);
  for (const name of ["configure.sh", "restart.sh"]) await chmod(path.join(root, "opt/podplane/bin", name), 0o755);
  let moved = script;
  for (const prefix of ["/opt/podplane/", "/opt/nstance-agent/", "/home/admin", "/etc/sudoers.d"]) moved = moved.replaceAll(prefix, `${root}${prefix}`);
  expect(moved).not.toMatch(/(?<![\w/-])\/(opt|home|etc)\//);
  // stdin not a socket: bash would read ~/.bashrc as if started by sshd
  const done = await execa("bash", ["-c", moved], { env: { PATH: `${stubs}:${process.env.PATH ?? ""}` }, extendEnv: false, stdin: "ignore", all: true, reject: false });
  const result = { code: done.exitCode ?? -1, output: done.all };
  const calls = await readFile(log, "utf8").then(
    (t) => t.trim().split("\n"),
    () => [],
  );
  return { root, calls, ...result };
}

const mode = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

function heredoc(script: string, delimiter: string): string {
  const start = script.indexOf(`<<'${delimiter}'\n`);
  expect(start, delimiter).toBeGreaterThan(0);
  const body = script.slice(script.indexOf("\n", start) + 1);
  return body.slice(0, body.indexOf(`\n${delimiter}\n`) + 1);
}

describe("user-data for Nstance (placeholders)", () => {
  const script = renderUserData({ format: "script", provider: "aws", awsAccountId: "123456789012", sshAuthorizedKeys: KEYS, enableSsm: true });

  it("is bash -n and shellcheck clean", () => {
    execFileSync("bash", ["-n"], { input: script });
    // warnings and errors: the keys' own `$(...)` is data in single quotes (an info note only)
    execFileSync("shellcheck", ["-s", "bash", "-S", "warning", "-"], { input: script });
  });

  it("keeps every launch placeholder verbatim and holds no other {{ }}", () => {
    for (const placeholder of LAUNCH_PLACEHOLDERS) expect(script, placeholder).toContain(placeholder);
    expect(LAUNCH_PLACEHOLDERS).toHaveLength(9);
    const templated = script.match(/\{\{[^}]*\}\}/g) ?? [];
    expect(templated.filter((t) => !LAUNCH_PLACEHOLDERS.includes(t))).toEqual([]);
    expect(script.replace(/\{\{ \.[A-Za-z.]+ \}\}/g, "")).not.toMatch(/\{\{|\}\}/);
  });

  it("writes Podplane's user-data.env: its names, order, blank lines and quoting", () => {
    expect(heredoc(script, "USERDATA_ENV")).toBe(
      [
        `IMMUTABLE_SSH_AUTHORIZED_KEYS='ssh-ed25519 AAAAone it'\\''s "quoted" $(touch /tmp/pp-pwned) \`id\` ; exit 1 \\`,
        "ssh-ed25519 AAAAtwo second@key'",
        "",
        "INSTANCE_ID='{{ .Instance.ID }}'",
        "CLUSTER_ID='{{ .Cluster.ID }}'",
        "",
        "PROVIDER_KIND='aws'",
        "PROVIDER_REGION='{{ .Provider.Region }}'",
        "PROVIDER_ZONE='{{ .Provider.Zone }}'",
        "PROVIDER_INSTANCE_TYPE='{{ .Instance.Type }}'",
        "AWS_ACCOUNT_ID='123456789012'",
        "GOOGLE_PROJECT_ID=''",
        "",
        "NSTANCE_CA_CERT='{{ .Cluster.CACert }}'",
        "NSTANCE_SERVER_REGISTRATION_ADDR='{{ .Server.RegistrationAddr }}'",
        "NSTANCE_SERVER_AGENT_ADDR='{{ .Server.AgentAddr }}'",
        "",
      ].join("\n"),
    );
    expect(heredoc(script, "NSTANCE_NONCE_JWT")).toBe("{{ .Nonce }}\n");
    expect(heredoc(script, "NSTANCE_CA_CERT")).toBe("{{ .Cluster.CACert }}\n");
  });

  it("downloads nothing and installs nothing", () => {
    expect(script).not.toMatch(/\b(curl|wget|apt-get|dpkg|snap|install\.sh|tar )\b/);
    expect(script).not.toContain("chpasswd");
  });
});

describe("user-data run in a temp root", () => {
  it("sets the hostname, the admin user, waits for the registration address, writes user-data.env and identity 0600, runs configure and restart", async () => {
    const nstance = await listener();
    const env = envFor(nstance.addr, [["IMMUTABLE_SSH_AUTHORIZED_KEYS", KEYS]]);
    const script = renderUserData({ format: "script", env, nonce: "eyJhbGciOiJFUzI1NiJ9.payload.sig\n" });
    execFileSync("bash", ["-n"], { input: script });
    const { root, calls, code, output } = await runInRoot(script);
    expect(code, output).toBe(0);
    expect(nstance.connections()).toBeGreaterThanOrEqual(1);
    expect(output).toContain(`Checking connectivity to nstance-server at ${nstance.addr}`);
    expect(output).toContain("Connection successful!");

    const envFile = path.join(root, "opt/podplane/etc/user-data.env");
    expect(await mode(envFile)).toBe(0o600);
    const written = parseEnvText(await readFile(envFile, "utf8"), envFile);
    expect(written.map(([name]) => name)).toEqual(USER_DATA_ENV_FIELDS.map((f) => f.name));
    expect(Object.fromEntries(written)).toEqual({ ...Object.fromEntries(env), AWS_ACCOUNT_ID: "", GOOGLE_PROJECT_ID: "" });

    const identity = path.join(root, "opt/nstance-agent/identity");
    expect(await mode(identity)).toBe(0o700);
    expect(await readFile(path.join(identity, "nonce.jwt"), "utf8")).toBe("eyJhbGciOiJFUzI1NiJ9.payload.sig\n");
    expect(await readFile(path.join(identity, "ca.crt"), "utf8")).toBe(`${CA}\n`);
    expect(await mode(path.join(identity, "nonce.jwt"))).toBe(0o600);
    expect(await mode(path.join(identity, "ca.crt"))).toBe(0o600);

    const keys = path.join(root, "home/admin/.ssh/authorized_keys");
    expect(await readFile(keys, "utf8")).toBe(`${KEYS}\n`);
    expect(await mode(keys)).toBe(0o600);
    expect(await mode(path.dirname(keys))).toBe(0o700);
    expect(await readFile(path.join(root, "etc/sudoers.d/admin"), "utf8")).toBe("admin ALL=(ALL) NOPASSWD:ALL\n");
    expect(await mode(path.join(root, "etc/sudoers.d/admin"))).toBe(0o440);

    const commands = calls.filter((c) => !c.startsWith("getent ") && !c.startsWith("id "));
    expect(commands).toEqual([
      "hostnamectl set-hostname i-0abc123",
      "groupadd admin",
      "useradd -g admin -m -s /bin/bash admin",
      `chown admin:admin ${root}/home/admin/.ssh ${root}/home/admin/.ssh/authorized_keys`,
      "configure.sh",
      "restart.sh",
    ]);
    await expect(stat("/tmp/pp-pwned")).rejects.toThrow();
  });

  it("without keys or nonce: no admin user, no identity files", async () => {
    const nstance = await listener();
    const { root, calls, code, output } = await runInRoot(renderUserData({ format: "script", env: envFor(nstance.addr) }));
    expect(code, output).toBe(0);
    expect(calls.some((c) => /useradd|groupadd|chown/.test(c))).toBe(false);
    await expect(stat(path.join(root, "home/admin"))).rejects.toThrow();
    await expect(stat(path.join(root, "opt/nstance-agent"))).rejects.toThrow();
    expect(calls.slice(-2)).toEqual(["configure.sh", "restart.sh"]);
  });

  it("gives up on an unreachable registration address after the timeout, with a clear line, writing nothing", async () => {
    const addr = await closedPort();
    const script = renderUserData({ format: "script", env: envFor(addr), registrationTimeoutSeconds: 8 });
    const started = Date.now();
    const { root, calls, code, output } = await runInRoot(script);
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(output).toContain(`Failed to connect to nstance-server at ${addr} (attempt 1), retrying in 3 seconds`);
    // the third wait would be 15 s, past the 8 s budget (a slow host may give up after the second)
    expect(output).toMatch(new RegExp(`Giving up: nstance-server at ${addr} accepted no TCP connection within 8 s \\([23] attempts\\)`));
    await expect(stat(path.join(root, "opt/podplane/etc/user-data.env"))).rejects.toThrow();
    expect(calls.some((c) => c.startsWith("configure.sh"))).toBe(false);
  });

  it("--enable-ssm starts the SSM agent only when the image has it, and never downloads it", async () => {
    const nstance = await listener();
    const env = envFor(nstance.addr, [
      ["PROVIDER_KIND", "aws"],
      ["AWS_ACCOUNT_ID", "123456789012"],
    ]);
    const script = renderUserData({ format: "script", env, enableSsm: true });
    const has = await runInRoot(script, { systemctlHasSsm: true });
    expect(has.code, has.output).toBe(0);
    expect(has.calls).toContain("systemctl enable --now amazon-ssm-agent.service");
    const lacks = await runInRoot(script, { systemctlHasSsm: false });
    expect(lacks.code, lacks.output).toBe(0);
    expect(lacks.calls.filter((c) => c.startsWith("systemctl"))).toEqual(["systemctl cat amazon-ssm-agent.service"]);
    expect(lacks.output).toContain("The AWS SSM agent is not in this image");
  });
});

describe("cloud-config", () => {
  it("carries the same script, written 0700 and run by runcmd; only for a concrete render", () => {
    const env = envFor("127.0.0.1:8443", [["IMMUTABLE_SSH_AUTHORIZED_KEYS", KEYS]]);
    const options: RenderOptions = { format: "script", env, nonce: "n.o.nce" };
    const doc = renderUserData({ ...options, format: "cloud-config" });
    expect(doc.startsWith("#cloud-config\n")).toBe(true);
    const parsed = parseYaml(doc) as { write_files: Array<{ path: string; permissions: string; content: string }>; runcmd: unknown };
    expect(parsed.write_files).toHaveLength(1);
    expect(parsed.write_files[0]).toMatchObject({ path: "/run/podplane/user-data.sh", permissions: "0700" });
    expect(parsed.write_files[0]?.content).toBe(renderUserData(options));
    expect(parsed.runcmd).toEqual([["/run/podplane/user-data.sh"]]);
    expect(() => renderUserData({ format: "cloud-config", provider: "local" })).toThrow(/cloud-config needs --env-file/);
  });
});

describe("user-data values are checked as Podplane checks them", () => {
  const ok: RenderOptions = { format: "script", provider: "aws", awsAccountId: "123456789012" };
  const cases: Array<[string, RenderOptions, RegExp]> = [
    ["no provider", { format: "script" }, /provider kind is required/],
    ["unknown provider", { format: "script", provider: "azure" }, /unknown provider kind "azure"/],
    ["aws without account", { format: "script", provider: "aws" }, /--aws-account-id/],
    ["quote in account", { ...ok, awsAccountId: "1234'; rm -rf /" }, /--aws-account-id: a single-line value may not contain '/],
    ["newline in project", { format: "script", provider: "google", googleProjectId: "proj-one\nx" }, /--google-project-id/],
    ["google without project", { format: "script", provider: "google" }, /--google-project-id/],
    ["bad project shape", { format: "script", provider: "google", googleProjectId: "A" }, /Google project ID "A"/],
    ["template in keys", { ...ok, sshAuthorizedKeys: "ssh-ed25519 AAAA {{ .Nonce }}" }, /--ssh-authorized-keys: contains \{\{/],
    ["delimiter line in keys", { ...ok, sshAuthorizedKeys: "ssh-ed25519 AAAA\nUSERDATA_ENV\n" }, /USERDATA_ENV, which would end/],
    ["CR in keys", { ...ok, sshAuthorizedKeys: "ssh-ed25519 AAAA\r\n" }, /--ssh-authorized-keys: contains a NUL or carriage return/],
    ["ssm off aws", { format: "script", provider: "local", enableSsm: true }, /--enable-ssm applies to provider aws only/],
    ["unknown env name", { format: "script", env: [...envFor("h:1"), ["PODPLANE_KIND", "knd"]] }, /unknown variable PODPLANE_KIND/],
    ["duplicate env name", { format: "script", env: [...envFor("h:1"), ["CLUSTER_ID", "again"]] }, /CLUSTER_ID is given twice/],
    ["quote in env instance ID", { format: "script", env: envFor("h:1", [["INSTANCE_ID", "i-1'x"]]) }, /INSTANCE_ID \(env file\)/],
    ["empty instance ID", { format: "script", env: envFor("h:1", [["INSTANCE_ID", ""]]) }, /INSTANCE_ID is required/],
    ["bad registration address", { format: "script", env: envFor("$(reboot)") }, /NSTANCE_SERVER_REGISTRATION_ADDR "\$\(reboot\)": expected host:port/],
    ["contradicting option", { format: "script", env: envFor("h:1"), provider: "aws", awsAccountId: "123456789012" }, /--provider contradicts PROVIDER_KIND/],
    ["nonce with a newline inside", { format: "script", env: envFor("h:1"), nonce: "a\nb" }, /nonce/],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what}`, () => {
      let error: unknown;
      try {
        renderUserData(options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe("the --env-file parser (Podplane's user-data.env format, never executed)", () => {
  it("reads quoted multi-line values, '\\'' escapes, bare words, comments and blank lines", () => {
    const text = "# a node\nIMMUTABLE_SSH_AUTHORIZED_KEYS='k1 it'\\''s\nk2'\n\nINSTANCE_ID=i-42\nNSTANCE_CA_CERT='-----BEGIN X-----\nAAAA\n-----END X-----'\nEMPTY=''\n";
    expect(parseEnvText(text, "f")).toEqual([
      ["IMMUTABLE_SSH_AUTHORIZED_KEYS", "k1 it's\nk2"],
      ["INSTANCE_ID", "i-42"],
      ["NSTANCE_CA_CERT", "-----BEGIN X-----\nAAAA\n-----END X-----"],
      ["EMPTY", ""],
    ]);
  });

  it("refuses shell syntax, unterminated quotes and CRLF, naming the line", () => {
    expect(() => parseEnvText("A=1\nB=$(id)\n", "f")).toThrow(/f:2: B: unexpected "\$"/);
    expect(() => parseEnvText("A='x' y\n", "f")).toThrow(/f:1: A: unexpected " "/);
    expect(() => parseEnvText("A='open\n\n", "f")).toThrow(/f:1: A: unterminated quote/);
    expect(() => parseEnvText("A='1'\r\n", "f")).toThrow(/f:1: A: unexpected "\\r"/);
    expect(() => parseEnvText("just words\n", "f")).toThrow(/f:1: expected NAME='value'/);
    expect(() => parseEnvText("A='a\nb'\nB=\"x\"\n", "f")).toThrow(/f:3: B: unexpected/);
  });
});
