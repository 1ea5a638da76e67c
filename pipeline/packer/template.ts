// The Packer template: one HCL2 file rendered with handlebars for the installed Packer.
import { createHash } from "node:crypto";
import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import Handlebars from "handlebars";
import { PROJECT_ROOT } from "../cli/options.js";

export const PACKER_DIR = path.join(PROJECT_ROOT, "packer");
export const TEMPLATE_SOURCE = path.join(PACKER_DIR, "podplane.pkr.hcl.hbs");
export const PROVISIONER_SCRIPTS_DIR = path.join(PACKER_DIR, "scripts");
export const TEMPLATE_FILE_NAME = "podplane.pkr.hcl";

export interface TemplateContext {
  /** Packer ≥ 1.10: required_plugins and the IMDSv2 settings. */
  modern: boolean;
}

export function renderTemplate(source: string, context: TemplateContext): string {
  return Handlebars.compile(source, { noEscape: true, strict: true })(context);
}

/** Writes the rendered template into `dir` and returns its path. */
export async function writeTemplate(dir: string, context: TemplateContext, source = TEMPLATE_SOURCE): Promise<string> {
  const file = path.join(dir, TEMPLATE_FILE_NAME);
  await writeFile(file, renderTemplate(await readFile(source, "utf8"), context));
  return file;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const rel = path.posix.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) files.push(rel);
  }
  return files.sort();
}

/** sha256 over every file under packer/ (template and provisioner scripts), by relative path. */
export async function templateDigest(dir = PACKER_DIR): Promise<string> {
  const hash = createHash("sha256");
  for (const rel of await listFiles(dir)) {
    const content = await readFile(path.join(dir, rel));
    hash.update(`${rel}\0${content.length}\0`).update(content);
  }
  return `sha256:${hash.digest("hex")}`;
}
