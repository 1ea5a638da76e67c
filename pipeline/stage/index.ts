// Public API of the stage: the directory install.sh reads inside the build VM.
export { artifactsTsv, upstreamFileName, writeStage, type Stage, type StagedArtifact, type WriteStageOptions } from "./write-stage.js";
export { STAGE_ISO_LABEL, stageIsoArgs, writeStageIso, type StageIsoOptions } from "./stage-iso.js";
export { verifyStageIso } from "./verify-stage-iso.js";
export { checkImageBlobs, imagesTsv, stageImages, writeImageArchive, type ImageBlob, type ImageBlobs, type StagedImage } from "./stage-images.js";
