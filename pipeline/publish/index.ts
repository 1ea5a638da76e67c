// Public API of publishing: images.json and images.auto.tfvars.json, written atomically.
export { writeFileAtomic } from "./atomic-write.js";
export { withFileLock } from "./lock.js";
export {
  IMAGES_FILE,
  IMAGES_FILE_VERSION,
  TFVARS_FILE,
  describeTest,
  findImage,
  isBootTested,
  mergeImage,
  publishImage,
  readImagesFile,
  tfvarsFor,
  deriveFiles,
  writeDerivedFiles,
  type DerivedFile,
  type DerivedFiles,
  type ImageDependency,
  type ImageRecord,
  type ImagesFile,
  type ImageTestRecord,
  type PublishOptions,
  type QemuImageId,
} from "./images-json.js";
