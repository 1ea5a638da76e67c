// Public API of publishing: images.json and the files derived from it (images.auto.tfvars.json,
// the Nstance fragments), written atomically.
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
  deriveFiles,
  tfvarsFor,
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
export {
  AWS_OWNER_ENV,
  amiNamePattern,
  nstanceFileName,
  nstanceFragments,
  nstanceImageKey,
  resolveAwsOwner,
  type NstanceFragment,
  type NstanceImageConfig,
  type NstanceSource,
} from "./nstance.js";
