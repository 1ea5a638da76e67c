// What retention needs to know about AWS without loading the SDK: the tag that marks an AMI as
// this tool's, the EC2 calls it makes (as an interface, so the SDK loads only when an aws image
// is really pruned), and how an AWS error is named in a report.

/**
 * The tag packer/podplane.pkr.hcl.hbs puts on every AMI and snapshot it makes (beside the
 * podplane:* tags of the bake). Retention touches an AMI only when it carries this tag and the
 * podplane:input-hash of the image its record names.
 */
export const MANAGED_BY_TAG = "podplane:managed-by";
export const MANAGED_BY_VALUE = "podplane-images";
export const INPUT_HASH_TAG = "podplane:input-hash";

export interface AmiInfo {
  id: string;
  region: string;
  name: string | undefined;
  tags: Record<string, string>;
  snapshots: string[];
}

export interface Ec2 {
  /** undefined when the AMI does not exist (any more) in that region. */
  describeAmi(region: string, ami: string): Promise<AmiInfo | undefined>;
  deregisterAmi(region: string, ami: string): Promise<void>;
  deleteSnapshot(region: string, snapshot: string): Promise<void>;
  /** Snapshots of ours left behind by an AMI already deregistered (a prune that stopped half-way). */
  orphanSnapshots(region: string, ami: string): Promise<string[]>;
}

/** Why an AMI is not provably ours, or undefined when its tags prove this tool made it for `inputHash`. */
export function notOursBecause(info: AmiInfo, inputHash: string): string | undefined {
  if (info.tags[MANAGED_BY_TAG] !== MANAGED_BY_VALUE) return `${info.id} in ${info.region} has no tag ${MANAGED_BY_TAG}=${MANAGED_BY_VALUE}`;
  const hash = info.tags[INPUT_HASH_TAG];
  if (hash !== inputHash) return `${info.id} in ${info.region} has tag ${INPUT_HASH_TAG}=${hash ?? "(none)"}, images.json says ${inputHash}`;
  return undefined;
}

/** The AWS error code (e.g. InvalidAMIID.NotFound): the SDK puts it in the error's name. */
export function awsErrorCode(error: unknown): string {
  const e = error as { Code?: unknown; name?: unknown } | null;
  if (typeof e?.Code === "string") return e.Code;
  return typeof e?.name === "string" ? e.name : "";
}

export function describeAwsError(error: unknown): string {
  const code = awsErrorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && code !== "Error" && !message.startsWith(code) ? `${code}: ${message}` : message;
}
