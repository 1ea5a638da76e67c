// The proof prune relies on before it deregisters an AMI: the Packer template tags every AMI and
// snapshot it makes with podplane:managed-by (on top of the bake's podplane:* tags, which carry
// the input hash), and a missing moto is a failure that says how to set it up.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { MANAGED_BY_TAG, MANAGED_BY_VALUE } from "../../pipeline/aws/index.js";
import { TEMPLATE_SOURCE } from "../../pipeline/packer/template.js";
import { motoMissing } from "../fixtures/moto.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("the tags prune checks", () => {
  it("the template puts podplane:managed-by on the AMI and its snapshots, merged into the bake's tags", async () => {
    const template = await readFile(TEMPLATE_SOURCE, "utf8");
    expect(template).toContain(`ami_tags = merge(var.tags, { "${MANAGED_BY_TAG}" = "${MANAGED_BY_VALUE}" })`);
    expect(template).toMatch(/^\s*tags\s+= local\.ami_tags$/m);
    expect(template).toMatch(/^\s*snapshot_tags\s+= local\.ami_tags$/m);
  });

  it("a missing moto is reported with the command that sets it up", async () => {
    expect(motoMissing(await tempDir("no-moto-"))).toMatch(/moto is not set up .*run `sudo scripts\/setup-host.sh`/);
  });
});
