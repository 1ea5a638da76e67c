// The two tables of docs/vmconfig.md against what the rooms really do: services.tsv (which
// variables reach each service's env file, when it runs, its inputs), each room's run.sh
// (add_flag / export_as lines, flags and names it uses), its configure.sh (ENV[...] it reads),
// its unit (ConditionPathExists=) and variables.tsv (where each variable comes from).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, VMCONFIG_TREE } from "./helpers.js";

const DOC = readFileSync(path.join(REPO, "docs/vmconfig.md"), "utf8");
const ROOMS = path.join(VMCONFIG_TREE, "opt/podplane/services");

/** The rows of the markdown table under `## heading`, cells with backticks removed. */
function table(heading: string): string[][] {
  const section = DOC.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`docs/vmconfig.md has no "## ${heading}" section`);
  return section
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .slice(2)
    .map((line) => line.slice(1, -1).split("|").map((cell) => cell.trim().replaceAll("`", "")));
}

/** TAB-separated rows of a share/*.tsv file, comments and blank lines skipped. */
function tsv(name: string): string[][] {
  return readFileSync(path.join(VMCONFIG_TREE, "opt/podplane/share", name), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.split("\t"));
}

interface Service {
  name: string;
  when: string;
  user: string;
  variables: string[];
  inputs: string[];
}
const SERVICES: Service[] = tsv("services.tsv").map(([name = "", , when = "", user = "", variables = "", inputs = ""]) => ({
  name,
  when,
  user,
  variables: variables === "-" ? [] : variables.split(",").filter(Boolean),
  inputs: inputs.split(",").filter(Boolean),
}));
const service = (name: string) => SERVICES.find((s) => s.name === name);
const read = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : "");
const runSh = (svc: string) => read(path.join(ROOMS, svc, "run.sh"));
/** A room's config writer, with lib.sh when it uses the shared kubeconfig writer. */
const configureSh = (svc: string) => {
  const text = read(path.join(ROOMS, svc, "configure.sh"));
  return text.includes("room_kubeconfig") ? text + read(path.join(ROOMS, "lib.sh")) : text;
};
/** Every file of a room, concatenated. */
const roomText = (svc: string) =>
  readdirSync(path.join(ROOMS, svc))
    .map((f) => read(path.join(ROOMS, svc, f)))
    .join("\n");
const ROOM_NAMES = readdirSync(ROOMS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

interface VarRow {
  variable: string;
  from: string;
  service: string;
  how: string;
}
const VAR_ROWS: VarRow[] = table("Variable → file → service → flag").map(([variable = "", from = "", svc = "", how = ""]) => ({
  variable,
  from,
  service: svc,
  how: how.split(" — ")[0] ?? "",
}));

describe("docs/vmconfig.md variable → file → service → flag table", () => {
  it("parses: known services, a known kind of How", () => {
    expect(VAR_ROWS.length).toBeGreaterThan(80);
    for (const row of VAR_ROWS) {
      expect(ROOM_NAMES, row.service).toContain(row.service);
      expect(row.how, JSON.stringify(row)).toMatch(/^(--[a-z0-9-]+|env [A-Z0-9_]+|config \S+: .+|when [A-Z0-9_]+=\S+|file \/\S+)$/);
      // A variable may come from two files (the Nstance addresses: user-data.env, then mutable.env).
      for (const file of row.from.split(/,\s*/)) expect(["user-data.env", "detected.env", "mutable.env", "configure.sh"]).toContain(file);
    }
  });

  it("names the file each variable comes from as variables.tsv has its source", () => {
    const fileOf: Record<string, string> = { "user-data": "user-data.env", detected: "detected.env", mutable: "mutable.env", settable: "mutable.env", derived: "mutable.env", internal: "configure.sh" };
    const source = new Map(tsv("variables.tsv").map(([name = "", src = ""]) => [name, src]));
    // variables.tsv moves to Podplane's names and sources (user-data, detected, mutable,
    // internal) with the vmconfig-core change; the older table (settable/derived) put
    // Podplane's user-data names elsewhere, so only the new vocabulary is checked.
    if (![...source.values()].includes("mutable")) return;
    for (const row of VAR_ROWS) {
      const src = source.get(row.variable);
      if (src !== undefined) expect(row.from.split(/,\s*/), row.variable).toContain(fileOf[src]);
    }
  });

  it("matches each room: flags and exported names in run.sh, keys in configure.sh, when in services.tsv", () => {
    for (const row of VAR_ROWS) {
      const label = `${row.service}: ${row.how} ← ${row.variable}`;
      if (row.how.startsWith("when ")) {
        expect(service(row.service)?.when, label).toBe(row.how.slice(5));
        expect(row.how.slice(5).split("=")[0], label).toBe(row.variable);
      } else if (row.how.startsWith("config ")) {
        expect(configureSh(row.service), label).toContain(`ENV[${row.variable}]`);
      } else if (row.how.startsWith("file ")) {
        expect(roomText(row.service), label).toContain(row.variable);
        expect(roomText(row.service), label).toContain(path.basename(row.how.slice(5)));
      } else {
        // A flag or exported name: run.sh uses both, and the variable reaches it by the env file.
        const text = runSh(row.service);
        const name = row.how.startsWith("env ") ? row.how.slice(4) : row.how;
        expect(text, label).toContain(name);
        expect(text, label).toMatch(new RegExp(`\\b${row.variable}\\b`));
        expect(service(row.service)?.variables, label).toContain(row.variable);
      }
    }
  });

  it("documents every add_flag / export_as of every run.sh and every ENV[...] of every config writer", () => {
    const documented = new Set(VAR_ROWS.map((r) => `${r.service} ${r.variable} ${r.how}`));
    const byService = new Set(VAR_ROWS.map((r) => `${r.service} ${r.variable} config`));
    let total = 0;
    for (const svc of ROOM_NAMES) {
      const run = runSh(svc);
      for (const m of run.matchAll(/^\s*add_flag (--[a-z0-9-]+) ([A-Z0-9_]+)/gm)) {
        total++;
        expect(documented, `${svc}: ${m[1]} ← ${m[2]}`).toContain(`${svc} ${m[2]} ${m[1]}`);
      }
      for (const m of run.matchAll(/^\s*export_as ([A-Z0-9_]+) ([A-Z0-9_]+)/gm)) {
        total++;
        expect(documented, `${svc}: env ${m[1]} ← ${m[2]}`).toContain(`${svc} ${m[2]} env ${m[1]}`);
      }
      for (const m of configureSh(svc).matchAll(/ENV\[([A-Z0-9_]+)\]/g)) {
        total++;
        const configRows = VAR_ROWS.filter((r) => r.service === svc && r.variable === m[1] && r.how.startsWith("config "));
        expect(configRows.length, `${svc}: config ← ${m[1]}`).toBeGreaterThan(0);
        byService.add(`${svc} ${m[1]} config`);
      }
    }
    expect(total).toBeGreaterThan(60);
  });

  it("documents every variable services.tsv gives a service, and each env-file variable is used by its run.sh or config", () => {
    for (const s of SERVICES) {
      for (const v of s.variables) {
        expect(VAR_ROWS.some((r) => r.service === s.name && r.variable === v), `${s.name}: ${v}`).toBe(true);
        expect(runSh(s.name).includes(v) || configureSh(s.name).includes(`ENV[${v}]`), `${s.name}: ${v} unused`).toBe(true);
      }
    }
  });
});

describe("docs/vmconfig.md delivered file → runtime path → owner/mode → services table", () => {
  const ROWS = table("Delivered file → runtime path → owner/mode → services").map(([file = "", from = "", runtime = "", owner = "", services = ""]) => ({
    file,
    from,
    runtime,
    owner,
    services: services === "—" ? [] : services.split(", ").sort(),
  }));
  const SECRET_DIRS = /\/opt\/(crt|pub|key)\/[A-Za-z0-9._/-]+\.(crt|pub|key|pem)/g;

  it("owners and modes follow the layout: /opt/crt and /opt/pub root:podplane, /opt/key/<dir> the service's group", () => {
    expect(ROWS.length).toBeGreaterThan(25);
    const keyGroup: Record<string, string> = { registry: "zot" };
    for (const row of ROWS) {
      const dir = row.runtime.split("/")[3] ?? "";
      if (row.runtime.startsWith("/opt/key/")) {
        const group = keyGroup[dir] ?? dir;
        expect(row.owner, row.runtime).toBe(`root:${group} 0640`);
        if (group !== "containerd" && group !== "kubelet") expect(SERVICES.map((s) => s.user), row.runtime).toContain(group);
        expect(row.from, row.runtime).toMatch(/^(keys|recv)$/);
      } else {
        expect(row.owner, row.runtime).toBe("root:podplane 0640");
      }
      if (row.from === "recv" || row.from === "keys") expect(path.basename(row.runtime)).toBe(row.file);
    }
  });

  it("lists exactly the rooms that read each file, and every certificate or key a room reads", () => {
    const readers = new Map<string, string[]>();
    for (const svc of ROOM_NAMES) {
      // A room names a file in its unit, run.sh or configure.sh, or takes its path from a
      // variable (the OIDC CA): then services.tsv lists it among its inputs.
      const inputs = service(svc)?.inputs.join("\n") ?? "";
      for (const m of `${roomText(svc)}\n${inputs}`.matchAll(SECRET_DIRS)) {
        const list = readers.get(m[0]) ?? [];
        if (!list.includes(svc)) list.push(svc);
        readers.set(m[0], list);
      }
    }
    const runtimes = ROWS.map((r) => r.runtime);
    for (const p of readers.keys()) expect(runtimes, p).toContain(p);
    for (const row of ROWS) expect(row.services, row.runtime).toEqual((readers.get(row.runtime) ?? []).sort());
  });

  it("every env file, config, certificate and key a unit waits for (ConditionPathExists=) is one of the service's inputs", () => {
    for (const s of SERVICES) {
      const unit = read(path.join(ROOMS, s.name, `${s.name}.service`));
      const conditions = [...unit.matchAll(/^ConditionPathExists=(\S+)$/gm)].map((m) => m[1] ?? "");
      expect(conditions, s.name).toContain(`/opt/env/${s.name}.env`);
      // The agent's identity (written once by the user-data) is no restart reason.
      for (const c of conditions.filter((p) => !p.startsWith("/opt/nstance-agent/"))) expect(s.inputs, `${s.name}: ${c}`).toContain(c);
    }
  });
});
