// Public API of the boot test: boot an image with the slim user-data and report named checks.
export { testImage, type ImageTestReport, type TestImageOptions } from "./run.js";
export { CHECK_NAMES, type ImageCheck } from "./checks.js";
export { qemuArgs, serialTail } from "./qemu.js";
export { PROVIDERS, type Provider } from "./test-env.js";
