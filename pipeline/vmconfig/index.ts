// Public API of vmconfig: the reproducible archive and the data files the scripts share.
export { packVmconfig, buildVmconfigArchive, DEFAULT_VMCONFIG_DIR, VMCONFIG_MTIME, type PackedVmconfig } from "./pack.js";
export { loadVariables, loadServices, loadDeliveries, isMutable, spansLines, VARIABLE_SOURCES, type VmconfigVariable, type VmconfigService, type VmconfigDelivery, type VariableSource } from "./data.js";
