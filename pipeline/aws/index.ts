// AWS access for retention. The SDK lives in ec2.ts and is imported lazily by callers.
export { INPUT_HASH_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE, awsErrorCode, describeAwsError, notOursBecause, type AmiInfo, type Ec2 } from "./ownership.js";
