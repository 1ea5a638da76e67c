// The few EC2 calls retention makes, through the AWS SDK for JavaScript v3. Region and endpoint
// come from the standard AWS configuration: the SDK itself reads AWS_ENDPOINT_URL /
// AWS_ENDPOINT_URL_EC2 (the tests point it at a local EC2-compatible server), credentials from
// the usual chain. One client per region: an AMI copied to three regions is three AMIs.
import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
} from "@aws-sdk/client-ec2";
import { MANAGED_BY_TAG, MANAGED_BY_VALUE, awsErrorCode, type Ec2 } from "./ownership.js";

function tagsOf(image: Pick<Image, "Tags">): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of image.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? "";
  return tags;
}

export function createEc2(options: { clientFor?: (region: string) => EC2Client } = {}): Ec2 {
  const clients = new Map<string, EC2Client>();
  const client = (region: string): EC2Client => {
    let c = clients.get(region);
    if (!c) {
      c = options.clientFor ? options.clientFor(region) : new EC2Client({ region, maxAttempts: 5 });
      clients.set(region, c);
    }
    return c;
  };
  return {
    async describeAmi(region, ami) {
      try {
        const out = await client(region).send(new DescribeImagesCommand({ ImageIds: [ami] }));
        const image = out.Images?.find((i) => i.ImageId === ami);
        if (!image) return undefined;
        const snapshots = (image.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter((s): s is string => typeof s === "string");
        return { id: ami, region, name: image.Name, tags: tagsOf(image), snapshots };
      } catch (error) {
        if (/^InvalidAMIID\.(NotFound|Unavailable)$/.test(awsErrorCode(error))) return undefined;
        throw error;
      }
    },
    async deregisterAmi(region, ami) {
      await client(region).send(new DeregisterImageCommand({ ImageId: ami }));
    },
    async deleteSnapshot(region, snapshot) {
      try {
        await client(region).send(new DeleteSnapshotCommand({ SnapshotId: snapshot }));
      } catch (error) {
        if (awsErrorCode(error) === "InvalidSnapshot.NotFound") return;
        throw error;
      }
    },
    async orphanSnapshots(region, ami) {
      // CreateImage describes its snapshots as "Created by CreateImage(i-…) for ami-…"; only
      // snapshots carrying our tag are considered.
      const out = await client(region).send(
        new DescribeSnapshotsCommand({
          OwnerIds: ["self"],
          Filters: [
            { Name: `tag:${MANAGED_BY_TAG}`, Values: [MANAGED_BY_VALUE] },
            { Name: "description", Values: [`*${ami}*`] },
          ],
        }),
      );
      // Checked here again: not every EC2-compatible server applies both filters.
      return (out.Snapshots ?? [])
        .filter((s) => s.Description?.includes(ami) && s.Tags?.some((t) => t.Key === MANAGED_BY_TAG && t.Value === MANAGED_BY_VALUE))
        .map((s) => s.SnapshotId)
        .filter((s): s is string => typeof s === "string");
    },
  };
}
