// The vendored official JSON schemas (schemas/, see schemas/README.md) as ajv validators.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import addFormatsModule from "ajv-formats";
import { PROJECT_ROOT } from "../../pipeline/cli/options.js";

// ajv-formats is CommonJS: its default export arrives wrapped under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const SCHEMAS = path.join(PROJECT_ROOT, "schemas");

function load(rel: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(SCHEMAS, rel), "utf8")) as Record<string, unknown>;
}

/** Formats CycloneDX uses that ajv-formats lacks: IRIs (RFC 3987) and internationalised e-mail, checked loosely (no spaces). */
function addIriFormats(ajv: Ajv): void {
  ajv.addFormat("iri-reference", /^\S+$/u);
  ajv.addFormat("iri", /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/u);
  ajv.addFormat("idn-email", /^\S+@\S+$/u);
}

let spdx: ValidateFunction | undefined;
let cycloneDx: ValidateFunction | undefined;

/** Compiled once per test file (the CycloneDX schema takes seconds). */
export function spdxValidator(): ValidateFunction {
  return (spdx ??= compileSpdx());
}

export function cycloneDxValidator(): ValidateFunction {
  return (cycloneDx ??= compileCycloneDx());
}

function compileSpdx(): ValidateFunction {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(load("spdx/spdx-schema.json"));
}

function compileCycloneDx(): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  addIriFormats(ajv);
  ajv.addSchema(load("cyclonedx/spdx.schema.json"));
  ajv.addSchema(load("cyclonedx/jsf-0.82.schema.json"));
  return ajv.compile(load("cyclonedx/bom-1.6.schema.json"));
}

export function errorsOf(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""} ${JSON.stringify(e.params)}`).join("\n");
}
