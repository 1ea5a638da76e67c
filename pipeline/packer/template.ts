// The Packer template: one HCL2 file rendered with handlebars for the installed Packer.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import Handlebars from "handlebars";
import { PACKER_DIR } from "./template-digest.js";

export { PACKER_DIR, templateDigest } from "./template-digest.js";
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
