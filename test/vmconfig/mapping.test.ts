// The variable → service → flag table of docs/vmconfig.md against what the scripts really do:
// services.tsv (which service gets which variable, and when it runs), the run-wrappers
// (add_flag / add_flag_if / export_as lines, ${VAR} in generated configs) and variables.tsv.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isMutable, loadServices, loadVariables } from "../../pipeline/vmconfig/index.js";
import { REPO, VMCONFIG_TREE } from "./helpers.js";

const DOC = readFileSync(path.join(REPO, "docs/vmconfig.md"), "utf8");

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

interface Row {
  variable: string;
  service: string;
  how: string;
}

const ROWS: Row[] = table("Variable → service → flag").map(([variable = "", service = "", flag = ""]) => ({ variable, service, how: flag.split(" — ")[0] ?? "" }));
const SERVICES = loadServices();
const VARIABLES = loadVariables();
const wrapper = (service: string) => readFileSync(path.join(VMCONFIG_TREE, `opt/podplane/libexec/run-${service}.sh`), "utf8");
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("docs/vmconfig.md variable → service → flag table", () => {
  it("parses: every row names a known variable and a known service", () => {
    expect(ROWS.length).toBeGreaterThan(40);
    const known = new Set(VARIABLES.map((v) => v.name));
    for (const row of ROWS) {
      expect(known.has(row.variable), row.variable).toBe(true);
      expect(row.service === "configure.sh" || SERVICES.some((s) => s.name === row.service), row.service).toBe(true);
      expect(row.how, JSON.stringify(row)).toMatch(/^(--[a-z0-9-]+|env [A-Z0-9_]+|config|when [A-Z0-9_]+=\S+|file \/\S+)$/);
    }
  });

  it("has exactly one row per variable services.tsv gives a service, and no other", () => {
    const fromTsv = SERVICES.flatMap((s) => s.variables.map((v) => `${v} → ${s.name}`)).sort();
    const fromDoc = ROWS.filter((r) => r.service !== "configure.sh" && !r.how.startsWith("when ")).map((r) => `${r.variable} → ${r.service}`).sort();
    expect(fromDoc).toEqual(fromTsv);
  });

  it("matches each wrapper: flags, exported names and generated configs", () => {
    for (const row of ROWS) {
      if (row.service === "configure.sh" || row.how.startsWith("when ")) continue;
      const text = wrapper(row.service);
      if (row.how.startsWith("--")) {
        const plain = `^\\s*add_flag(_if [A-Z0-9_]+)? ${escape(row.how)} ${row.variable}\\b`;
        const gate = `^\\s*add_flag_if ${row.variable} ${escape(row.how)} [A-Z0-9_]+$`;
        expect(text, `${row.service}: ${row.how} ← ${row.variable}`).toMatch(new RegExp(`${plain}|${gate}`, "m"));
      } else if (row.how.startsWith("env ")) {
        expect(text, `${row.service}: ${row.how} ← ${row.variable}`).toMatch(new RegExp(`^\\s*export_as ${row.how.slice(4)} ${row.variable}$`, "m"));
      } else {
        expect(text, `${row.service}: config ← ${row.variable}`).toContain(`\${${row.variable}`);
      }
    }
  });

  it("lists every flag and exported name the wrappers derive from a variable", () => {
    let total = 0;
    for (const service of SERVICES) {
      const text = wrapper(service.name);
      const derived = [
        ...[...text.matchAll(/^\s*add_flag (--[a-z0-9-]+) ([A-Z0-9_]+)/gm)].map((m) => `${m[2]} ${m[1]}`),
        ...[...text.matchAll(/^\s*add_flag_if ([A-Z0-9_]+) (--[a-z0-9-]+) ([A-Z0-9_]+)/gm)].flatMap((m) => [`${m[1]} ${m[2]}`, `${m[3]} ${m[2]}`]),
        ...[...text.matchAll(/^\s*export_as ([A-Z0-9_]+) ([A-Z0-9_]+)$/gm)].map((m) => `${m[2]} env ${m[1]}`),
      ];
      total += derived.length;
      const documented = ROWS.filter((r) => r.service === service.name).map((r) => `${r.variable} ${r.how}`);
      for (const d of derived) expect(documented, `${service.name}: ${d}`).toContain(d);
    }
    expect(total).toBeGreaterThan(30);
  });

  it("documents each conditional service's `when` as services.tsv has it", () => {
    const whens = ROWS.filter((r) => r.how.startsWith("when ")).map((r) => `${r.service} ${r.how.slice(5)}`).sort();
    expect(whens).toEqual(SERVICES.filter((s) => s.when !== "always").map((s) => `${s.name} ${s.when}`).sort());
    for (const row of ROWS.filter((r) => r.how.startsWith("when "))) expect(row.how.slice(5).split("=")[0]).toBe(row.variable);
  });

  it("covers each of the 36 mutable variables; configure.sh handles its own rows", () => {
    const mutable = VARIABLES.filter(isMutable).map((v) => v.name);
    expect(mutable).toHaveLength(36);
    const documented = new Set(ROWS.map((r) => r.variable));
    for (const name of mutable) expect(documented.has(name), name).toBe(true);
    const configure = readFileSync(path.join(VMCONFIG_TREE, "opt/podplane/bin/configure.sh"), "utf8");
    for (const row of ROWS.filter((r) => r.service === "configure.sh")) {
      expect(configure).toContain(row.variable);
      expect(configure).toContain(path.basename(row.how.slice(5)));
    }
  });
});

describe("docs/vmconfig.md variables table", () => {
  it("equals variables.tsv (name, source, type, default)", () => {
    const doc = table("Variables").map(([name = "", source = "", type = "", def = ""]) => [name, source, type, def]);
    expect(doc).toEqual(VARIABLES.map((v) => [v.name, v.source, v.type, v.default ?? ""]));
  });
});
