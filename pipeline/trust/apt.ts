// The parts of an apt repository `pin` reads (Debian's repository format): the Release fields of
// a suite's InRelease (after its signature is checked), the SHA256 list that pins every index,
// and the Packages stanza of one .deb. Parsers only; fetching and checking live in apt-chain.ts.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { execa } from "execa";
import { parseControlParagraph } from "../deb822/index.js";
import { WorkError } from "../errors/index.js";

export interface IndexEntry {
  /** Path relative to the suite's directory, e.g. `main/binary-amd64/Packages.gz`. */
  path: string;
  sha256: string;
  size: number;
}

export interface ReleaseFile {
  suite: string | undefined;
  codename: string | undefined;
  validUntil: Date | undefined;
  sha256: Map<string, IndexEntry>;
}

function releaseError(source: string, why: string): WorkError {
  return new WorkError("ERELEASE", `${source}: ${why}`, { source, check: "digest-file" });
}

/** The Release fields of a (verified) InRelease text. */
export function parseRelease(text: string, source: string): ReleaseFile {
  const fields = parseControlParagraph(text);
  const sha256 = new Map<string, IndexEntry>();
  for (const line of (fields.get("sha256") ?? "").split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const [hex = "", size = "", file = ""] = parts;
    if (!/^[0-9a-f]{64}$/i.test(hex) || !/^\d+$/.test(size)) throw releaseError(source, `a malformed SHA256 line: ${JSON.stringify(line.trim())}`);
    sha256.set(file, { path: file, sha256: hex.toLowerCase(), size: Number(size) });
  }
  if (sha256.size === 0) throw releaseError(source, "no SHA256 section: the suite's indexes cannot be checked");
  const until = fields.get("valid-until");
  const validUntil = until ? new Date(until) : undefined;
  if (validUntil && Number.isNaN(validUntil.getTime())) throw releaseError(source, `unreadable Valid-Until ${JSON.stringify(until)}`);
  return { suite: fields.get("suite"), codename: fields.get("codename"), validUntil, sha256 };
}

/** The Packages indexes InRelease lists for a component and arch, in the order we read them (gzip, xz, plain). */
export function packagesCandidates(release: ReleaseFile, component: string, arch: string): IndexEntry[] {
  const base = `${component}/binary-${arch}/Packages`;
  return [".gz", ".xz", ""].map((ext) => release.sha256.get(`${base}${ext}`)).filter((entry): entry is IndexEntry => entry !== undefined);
}

export interface PackageStanza {
  package: string;
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  size: number;
}

/** The decompressed lines of a Packages index file on disk (by its name: .gz, .xz or plain), and a check that the decompressor succeeded. */
function indexLines(file: string, indexPath: string): { lines: AsyncIterable<string>; finished: () => Promise<void> } {
  if (indexPath.endsWith(".xz")) {
    // Node has no xz decoder; xz-utils is on every Debian host.
    const child = execa("xz", ["-dc", file], { buffer: false, stdout: "pipe", stderr: "pipe", reject: false });
    return {
      lines: createInterface({ input: child.stdout, crlfDelay: Infinity }),
      finished: async () => {
        const result = await child;
        if (result.failed) throw new Error(`xz -dc failed: ${result.shortMessage}`);
      },
    };
  }
  const input: Readable = indexPath.endsWith(".gz") ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  return { lines: createInterface({ input, crlfDelay: Infinity }), finished: () => Promise.resolve() };
}

/** The stanza whose Filename is `filename` (relative to the archive root), or undefined. */
export async function findPackage(file: string, indexPath: string, filename: string): Promise<PackageStanza | undefined> {
  let lines: string[] = [];
  const take = (): PackageStanza | undefined => {
    const fields = parseControlParagraph(lines.join("\n"));
    lines = [];
    if (fields.get("filename") !== filename) return undefined;
    return {
      package: fields.get("package") ?? "",
      version: fields.get("version") ?? "",
      architecture: fields.get("architecture") ?? "",
      filename,
      sha256: (fields.get("sha256") ?? "").toLowerCase(),
      size: Number(fields.get("size") ?? "NaN"),
    };
  };
  const index = indexLines(file, indexPath);
  try {
    for await (const line of index.lines) {
      if (line.trim() === "") {
        // cheap pre-filter: only parse paragraphs that mention the file
        if (lines.some((l) => l.startsWith("Filename:") && l.slice(9).trim() === filename)) {
          const found = take();
          if (found) return found;
        }
        lines = [];
        continue;
      }
      lines.push(line);
    }
    await index.finished();
  } catch (error) {
    throw new WorkError("EINDEX", `cannot read the Packages index ${indexPath} (${(error as Error).message})`, { indexPath }, { cause: error });
  }
  return lines.some((l) => l.startsWith("Filename:")) ? take() : undefined;
}
