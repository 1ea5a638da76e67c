// Public API of the Packer driver: version detection, template and var file, runs, outputs.
export { probeAccelerator, KERNEL_RUNNING, type Accelerator, type AcceleratorChoice, type ProbeOptions } from "./accelerator.js";
export { describeEvent, escapePacker, meaningfulLine, parseMachineLine, unescapePacker, type PackerEvent, type Progress, type ProgressKind } from "./machine-readable.js";
export { parseAmiArtifactId, parsePackerManifest, readLastBuild, type PackerManifestBuild } from "./manifest.js";
export { packerBuild, packerInit, packerValidate, type PackerRunOptions } from "./run.js";
export { PACKER_DIR, PROVISIONER_SCRIPTS_DIR, TEMPLATE_FILE_NAME, TEMPLATE_SOURCE, renderTemplate, templateDigest, writeTemplate, type TemplateContext } from "./template.js";
export { detectPacker, parsePackerVersion, type PackerVersion } from "./version.js";
export { TARGETS, VAR_FILE_NAME, datasourcesFor, packerVariables, tcgCpuModel, sourceName, writeVarFile, type AwsSettings, type BakeVariables, type QemuSettings, type Target } from "./vars.js";
export { BUILD_HOSTNAME, BUILD_USER, seedUserData } from "./seed.js";
