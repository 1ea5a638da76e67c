// Public API of the debootstrap base image (a Debian 13 qcow2 built offline from the archive).
export { buildDebootstrapBase, type BaseImage, type BuildBaseOptions } from "./build.js";
export { BASE_OS, BASE_RECIPE_VERSION, BASE_SUITE, baseImageName, baseInputHash, basePackages, baseFirmware, baseRecipe, type BaseFirmware, type BaseRecipe } from "./recipe.js";
export { assertForeignBaseHost, foreignBaseProblems, hostArch } from "./foreign.js";
