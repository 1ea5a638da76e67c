// prune against a real EC2 API on 127.0.0.1: moto's server (Debian trixie's python3-moto, set
// up by scripts/setup-host.sh). AMIs and snapshots are registered in two regions, some tagged
// as podplane-images' and one not; prune must delete exactly the expected ones, in both regions.
// What moto cannot show: real AWS's eventual consistency and its snapshot-in-use timing; moto
// answers at once and, like AWS, refuses to delete a snapshot an AMI still uses.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  CopyImageCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RegisterImageCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MANAGED_BY_TAG, MANAGED_BY_VALUE } from "../../pipeline/aws/index.js";
import type { ImageRecord, ImagesFile } from "../../pipeline/publish/index.js";
import type { PrunedImage, PruneReport } from "../../pipeline/retention/prune.js";
import { motoMissing, skipMoto, startMoto, type Moto } from "../fixtures/moto.js";
import { resetCliStateAfterEach, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const HOME = "us-east-1";
const COPY = "eu-west-1";
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_SESSION_TOKEN: "testing",
  AWS_REGION: HOME,
  AWS_CONFIG_FILE: "/nonexistent",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
};

if (skipMoto) {
  process.stderr.write(`prune-aws: SKIPPED because PODPLANE_SKIP_MOTO=1 (${motoMissing() ?? "moto is set up, but skipping was asked for"})\n`);
}

describe.skipIf(skipMoto)("prune against a local EC2 endpoint (moto)", () => {
  resetCliStateAfterEach();
  let moto: Moto;
  const saved: Record<string, string | undefined> = {};
  const clients = new Map<string, EC2Client>();
  const ec2 = (region: string) => {
    let c = clients.get(region);
    if (!c) clients.set(region, (c = new EC2Client({ region, endpoint: moto.endpoint })));
    return c;
  };

  beforeAll(async () => {
    // Fails (never skips) when moto is missing: the message says to run setup-host.
    moto = await startMoto();
    for (const [k, v] of Object.entries({ ...AWS_ENV, AWS_ENDPOINT_URL: moto.endpoint })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  }, 90_000);

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    for (const c of clients.values()) c.destroy();
    await moto?.stop();
  });

  beforeEach(async () => {
    await moto.reset();
  });

  /** An AMI in HOME, copied to COPY, each tagged (or not) as podplane-images tags them. */
  async function registerImage(name: string, inputHash: string, ours: boolean): Promise<Record<string, string>> {
    const tags = [{ Key: "Name", Value: name }, { Key: "podplane:input-hash", Value: inputHash }, ...(ours ? [{ Key: MANAGED_BY_TAG, Value: MANAGED_BY_VALUE }] : [])];
    const home = await ec2(HOME).send(new RegisterImageCommand({ Name: name, Architecture: "x86_64", RootDeviceName: "/dev/xvda" }));
    const homeId = home.ImageId ?? "";
    await ec2(HOME).send(new CreateTagsCommand({ Resources: [homeId], Tags: tags }));
    const copy = await ec2(COPY).send(new CopyImageCommand({ Name: name, SourceImageId: homeId, SourceRegion: HOME }));
    const copyId = copy.ImageId ?? "";
    await ec2(COPY).send(new CreateTagsCommand({ Resources: [copyId], Tags: tags }));
    return { [HOME]: homeId, [COPY]: copyId };
  }

  async function amiState(region: string, ami: string): Promise<{ exists: boolean; snapshots: string[] }> {
    const out = await ec2(region)
      .send(new DescribeImagesCommand({ ImageIds: [ami] }))
      .catch(() => ({ Images: [] }));
    const image = out.Images?.[0];
    return { exists: image !== undefined, snapshots: (image?.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId ?? "") };
  }

  async function snapshotExists(region: string, snapshot: string): Promise<boolean> {
    const out = await ec2(region)
      .send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshot] }))
      .catch(() => ({ Snapshots: [] }));
    return (out.Snapshots ?? []).length > 0;
  }

  function awsRecord(name: string, createdAt: string, amis: Record<string, string>): ImageRecord {
    return {
      name,
      kind: "knd",
      arch: "amd64",
      os: "debian-13",
      target: "aws",
      inputHash: `${name.slice(-12)}${"0".repeat(52)}`,
      amis,
      dependencies: [],
      vmconfigDigest: `sha256:${"d".repeat(64)}`,
      baseImage: { source: "ami:136693071363/debian-13-amd64-*", digest: "ami-filter:136693071363/debian-13-amd64-*" },
      size: 0,
      buildSeconds: 600,
      packerVersion: "1.6.6",
      createdAt,
      test: { tested: false, reason: "aws images are not boot-tested here" },
    };
  }

  /** Five generations of one kind/arch in two regions: newest, tfvars-pinned, ours, foreign, already gone. */
  async function fleet() {
    const names = ["111111111111", "222222222222", "333333333333", "444444444444", "555555555555"].map((h) => `podplane-knd-debian-13-amd64-${h}`);
    const dates = ["2026-11-28T00:00:00.000Z", "2026-11-20T00:00:00.000Z", "2026-11-10T00:00:00.000Z", "2026-11-05T00:00:00.000Z", "2026-11-01T00:00:00.000Z"];
    const records: ImageRecord[] = [];
    for (const [i, name] of names.entries()) {
      const hash = `${name.slice(-12)}${"0".repeat(52)}`;
      records.push(awsRecord(name, dates[i] ?? "", await registerImage(name, hash, i !== 3)));
    }
    const [newest, pinned, old, foreign, gone] = records as [ImageRecord, ImageRecord, ImageRecord, ImageRecord, ImageRecord];
    // Boot-tested (elsewhere), so the tfvars point at it rather than at the newer, untested one.
    pinned.test = { tested: true, ok: true, at: "2026-11-21T00:00:00.000Z", checks: [{ name: "services", ok: true }] };
    // "gone": deregistered behind the tool's back; its record is stale.
    for (const [region, ami] of Object.entries(gone.amis ?? {})) await ec2(region).send(new DeregisterImageCommand({ ImageId: ami }));
    const dir = await tempDir("prune-aws-");
    await writeFile(path.join(dir, "images.json"), `${JSON.stringify({ version: 1, images: records }, null, 2)}\n`);
    // The tfvars a cluster deploys from point at the pinned (second-newest) image.
    await writeFile(path.join(dir, "images.auto.tfvars.json"), `${JSON.stringify({ podplane_images: { knd: { amd64: pinned.amis } } }, null, 2)}\n`);
    const snapshots = new Map<string, string[]>();
    for (const r of records) for (const [region, ami] of Object.entries(r.amis ?? {})) snapshots.set(ami, (await amiState(region, ami)).snapshots);
    return { dir, newest, pinned, old, foreign, gone, snapshots };
  }

  it("--dry-run lists exactly what would go (ours, not pinned, not newest) and deletes nothing", async () => {
    const f = await fleet();
    const before = await readFile(path.join(f.dir, "images.json"), "utf8");
    const result = await runCli("prune", "--keep", "1", "--out", f.dir, "--dry-run", "--json");
    expect(result.code, result.stderr).toBe(1); // the foreign AMI is refused
    const report = JSON.parse(result.stdout) as PruneReport;
    expect(report.dryRun).toBe(true);
    expect(report.pruned.map((p) => p.name)).toEqual([f.old.name, f.gone.name]);
    const oldEntry = report.pruned[0] as PrunedImage;
    expect(oldEntry.amis.map((a) => [a.region, a.ami])).toEqual([
      [COPY, f.old.amis?.[COPY]],
      [HOME, f.old.amis?.[HOME]],
    ]);
    expect(oldEntry.amis[1]?.snapshots).toEqual(f.snapshots.get(f.old.amis?.[HOME] ?? ""));
    expect(report.pruned[1]?.amis.every((a) => a.gone === true)).toBe(true);
    expect(report.refused.map((r) => r.name)).toEqual([f.foreign.name]);
    expect(report.refused[0]?.reason).toContain(`no tag ${MANAGED_BY_TAG}=${MANAGED_BY_VALUE}`);
    expect(report.kept.map((k) => [k.name, k.reason])).toEqual([
      [f.newest.name, "newest"],
      [f.pinned.name, "tfvars"],
    ]);
    for (const r of [f.newest, f.pinned, f.old, f.foreign]) {
      for (const [region, ami] of Object.entries(r.amis ?? {})) {
        expect((await amiState(region, ami)).exists, `${ami} in ${region}`).toBe(true);
        for (const s of f.snapshots.get(ami) ?? []) expect(await snapshotExists(region, s), s).toBe(true);
      }
    }
    expect(await readFile(path.join(f.dir, "images.json"), "utf8")).toBe(before);
  });

  it("deregisters our old AMIs and deletes their snapshots in every region; the foreign, newest and tfvars-pinned ones survive", async () => {
    const f = await fleet();
    const result = await runCli("prune", "--keep", "1", "--out", f.dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`deleted\\s+${f.old.name}\\s+aws`));
    expect(result.stdout).toMatch(new RegExp(`REFUSED\\s+${f.foreign.name}`));
    expect(result.stderr).toContain("EPRUNE: 1 refused, 0 failed");
    for (const [region, ami] of Object.entries(f.old.amis ?? {})) {
      expect((await amiState(region, ami)).exists, `${ami} in ${region}`).toBe(false);
      const snaps = f.snapshots.get(ami) ?? [];
      expect(snaps.length).toBeGreaterThan(0);
      for (const s of snaps) expect(await snapshotExists(region, s), `${s} in ${region}`).toBe(false);
    }
    for (const r of [f.newest, f.pinned, f.foreign]) {
      for (const [region, ami] of Object.entries(r.amis ?? {})) {
        expect((await amiState(region, ami)).exists, `${r.name}: ${ami} in ${region}`).toBe(true);
        for (const s of f.snapshots.get(ami) ?? []) expect(await snapshotExists(region, s), s).toBe(true);
      }
    }
    const doc = JSON.parse(await readFile(path.join(f.dir, "images.json"), "utf8")) as ImagesFile;
    expect(doc.images.map((i) => i.name).sort()).toEqual([f.newest.name, f.pinned.name, f.foreign.name].sort());
    // Regenerated from what is left: still the boot-tested image the cluster deploys from.
    expect(JSON.parse(await readFile(path.join(f.dir, "images.auto.tfvars.json"), "utf8"))).toEqual({ podplane_images: { knd: { amd64: f.pinned.amis } } });

    // A second run has nothing of ours left to delete; the foreign image is still refused.
    const again = await runCli("prune", "--keep", "1", "--out", f.dir, "--json");
    expect(again.code).toBe(1);
    const report = JSON.parse(again.stdout) as PruneReport;
    expect(report.pruned).toEqual([]);
    expect(report.refused.map((r) => r.name)).toEqual([f.foreign.name]);
  });

  it("an AMI tagged ours but for another input hash is refused, in every region", async () => {
    const dir = await tempDir("prune-aws-hash-");
    const name = "podplane-knc-debian-13-amd64-666666666666";
    const amis = await registerImage(name, "f".repeat(64), true);
    const newer = awsRecord("podplane-knc-debian-13-amd64-777777777777", "2026-11-29T00:00:00.000Z", await registerImage("podplane-knc-debian-13-amd64-777777777777", `777777777777${"0".repeat(52)}`, true));
    const stale = { ...awsRecord(name, "2026-10-01T00:00:00.000Z", amis), kind: "knc" };
    await writeFile(path.join(dir, "images.json"), JSON.stringify({ version: 1, images: [{ ...newer, kind: "knc" }, stale] }));
    const result = await runCli("prune", "--keep", "1", "--out", dir, "--json");
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as PruneReport;
    expect(report.refused[0]?.reason).toContain(`podplane:input-hash=${"f".repeat(64)}`);
    for (const [region, ami] of Object.entries(amis)) expect((await amiState(region, ami)).exists).toBe(true);
  });
});
