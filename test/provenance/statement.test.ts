// The statement a build writes: valid against a schema written from the in-toto Statement v1 and
// SLSA Provenance v1 specs, with every input of the input hash among the resolved dependencies.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadManifest } from "../../pipeline/manifest/load.js";
import { parseEnvelope } from "../../pipeline/provenance/dsse.js";
import { amiDocument, BUILD_TYPE, type Statement } from "../../pipeline/provenance/statement.js";
import { tempDir } from "../helpers/temp-dir.js";
import { publishFixture } from "./fixtures.js";
import { statementErrors } from "./schema.js";

function names(statement: Statement, role: string): string[] {
  return statement.predicate.buildDefinition.resolvedDependencies.filter((d) => d.annotations?.role === role).map((d) => d.name ?? "");
}

describe("the provenance statement", () => {
  it("qemu: validates; subject is the qcow2 by sha256; every input of the input hash is a resolved dependency with its digest", async () => {
    const dir = await tempDir("statement-");
    const { statement, record, manifests } = await publishFixture(dir);
    expect(statementErrors(statement)).toEqual([]);
    expect(statement.subject).toEqual([{ name: `${record.name}.qcow2`, digest: { sha256: record.qemu?.digest.slice("sha256:".length) } }]);
    const manifest = await loadManifest(path.join(manifests, "knd.debian-13.amd64.json"));
    const deps = statement.predicate.buildDefinition.resolvedDependencies;
    for (const d of manifest.dependencies.filter((x) => !x.local && x.digest)) {
      const [alg, hex] = d.digest.split(":");
      expect(deps.find((x) => x.name === d.name)).toMatchObject({ uri: d.url, digest: { [alg ?? ""]: hex }, annotations: { role: "artifact", version: d.version } });
    }
    expect(names(statement, "container-image")).toEqual(manifest.images.map((i) => `${i.image} ${i.platform}`));
    expect(names(statement, "vmconfig")).toEqual(["vmconfig.tar.gz"]);
    expect(names(statement, "packer")).toEqual(["packer"]);
    expect(names(statement, "packer-file")).toEqual(["packer/podplane.pkr.hcl"]);
    const [alg, hex] = manifest.baseImage.digest.split(":");
    expect(deps.find((x) => x.name === "base-image")).toEqual({ name: "base-image", uri: manifest.baseImage.url, digest: { [alg ?? ""]: hex }, annotations: { role: "base-image" } });
    expect(statement.predicate.buildDefinition.buildType).toBe(BUILD_TYPE);
    expect(statement.predicate.buildDefinition.externalParameters).toEqual({ kind: "knd", arch: "amd64", os: "debian-13", target: "qemu", base: "cloud" });
    expect(statement.predicate.runDetails.builder).toEqual({
      id: "https://github.com/podplane/podplane-images@v0.1.0",
      version: { "podplane-images": "0.1.0", packer: "1.6.6" },
      builderDependencies: [{ name: "packer", uri: "pkg:generic/packer@1.6.6" }],
    });
    expect(statement.predicate.runDetails.metadata).toEqual({ invocationId: `${record.name}@2026-11-30T10:20:00.000Z`, startedOn: "2026-11-30T10:00:00.000Z", finishedOn: "2026-11-30T10:20:00.000Z" });
  });

  it("aws: the subject is the sha256 of the canonical AMI document; each AMI is a byproduct; the base is the AMI filter", async () => {
    const dir = await tempDir("statement-aws-");
    const { statement, record, statementPath } = await publishFixture(dir, { target: "aws" });
    expect(statementErrors(statement)).toEqual([]);
    const doc = `{"name":"${record.name}","amis":{"eu-west-1":"ami-0fedcba9876543210","us-east-1":"ami-0123456789abcdef0"}}`;
    expect(amiDocument(record.name, record.amis ?? {})).toBe(doc);
    expect(statement.subject).toEqual([{ name: `${record.name}.amis.json`, digest: { sha256: createHash("sha256").update(doc).digest("hex") } }]);
    expect(statement.predicate.runDetails.byproducts).toEqual([
      { name: "ami:eu-west-1/ami-0fedcba9876543210", uri: "arn:aws:ec2:eu-west-1::image/ami-0fedcba9876543210", annotations: { region: "eu-west-1", imageId: "ami-0fedcba9876543210" } },
      { name: "ami:us-east-1/ami-0123456789abcdef0", uri: "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0", annotations: { region: "us-east-1", imageId: "ami-0123456789abcdef0" } },
    ]);
    expect(statement.predicate.buildDefinition.resolvedDependencies.find((d) => d.name === "base-image")).toEqual({
      name: "base-image",
      uri: "ami-filter:136693071363/debian-13-amd64-*",
      annotations: { role: "base-image", source: "ami:136693071363/debian-13-amd64-*" },
    });
    expect(statement.predicate.buildDefinition.externalParameters).toEqual({ kind: "knd", arch: "amd64", os: "debian-13", target: "aws", aws: { region: "us-east-1", amiRegions: ["eu-west-1"] } });
    // The file holds one envelope on one line (JSON Lines), unsigned here.
    const text = await readFile(statementPath, "utf8");
    expect(text.split("\n")).toHaveLength(2);
    expect(parseEnvelope(text.trim()).envelope?.signatures).toEqual([]);
  });

  it("the schema catches a misspelt field, a subject without digest and a non-URI buildType", async () => {
    const dir = await tempDir("statement-bad-");
    const { statement } = await publishFixture(dir);
    const bad = JSON.parse(JSON.stringify(statement)) as { subject: Array<Record<string, unknown>>; predicate: { buildDefinition: Record<string, unknown> } };
    bad.predicate.buildDefinition.resolvedDependency = bad.predicate.buildDefinition.resolvedDependencies;
    delete (bad.subject[0] as Record<string, unknown>).digest;
    bad.predicate.buildDefinition.buildType = "not a uri";
    const errors = statementErrors(bad);
    expect(errors).toContain("/predicate/buildDefinition must NOT have additional properties");
    expect(errors).toContain("/subject/0 must have required property 'digest'");
    expect(errors).toContain('/predicate/buildDefinition/buildType must match format "uri"');
  });
});
