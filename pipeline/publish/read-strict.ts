// A strict reader of images.json for commands that combine or delete on its word (`images merge`,
// `prune`): a file of another format version or a corrupt one is refused (exit 2) naming the file
// and the JSON path of the first problem, instead of being read as an empty or partial list.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { UsageError } from "../errors/index.js";
import { IMAGES_FILE_VERSION, type ImageRecord, type ImagesFile } from "./images-json.js";

// Only the fields merge and prune decide on are checked; the rest of a record (and fields other
// branches add, such as `boot`) passes through unchanged.
const recordSchema = z
  .object({
    name: z.string().min(1),
    kind: z.string().min(1),
    arch: z.string().min(1),
    os: z.string().min(1),
    target: z.enum(["qemu", "aws"]),
    inputHash: z.string().min(1),
    createdAt: z.string().refine((v) => !Number.isNaN(Date.parse(v)), "expected an ISO date"),
    qemu: z.object({ path: z.string().min(1), digest: z.string().min(1) }).passthrough().optional(),
    amis: z.record(z.string().regex(/^ami-[0-9A-Za-z]+$/, "expected an AMI ID (ami-...)")).optional(),
  })
  .passthrough()
  .superRefine((r, ctx) => {
    if (r.target === "qemu" && !r.qemu) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["qemu"], message: "a qemu record needs qemu.path and qemu.digest" });
    if (r.target === "aws" && (!r.amis || Object.keys(r.amis).length === 0)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["amis"], message: "an aws record needs amis (region -> AMI ID)" });
    }
  });

const fileSchema = z.object({ version: z.unknown(), images: z.array(recordSchema) }).passthrough();

/** `$.images[3].amis["us-east-1"]` from zod's path segments. */
export function jsonPath(segments: ReadonlyArray<string | number>): string {
  return segments.reduce<string>((out, s) => (typeof s === "number" ? `${out}[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `${out}.${s}` : `${out}[${JSON.stringify(s)}]`), "$");
}

/** Line and column of a JSON.parse error, when Node says at which position it stopped. */
function syntaxLocation(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  const match = /position (\d+)/.exec(message);
  const at = match ? Number(match[1]) : /end of JSON input/.test(message) ? text.length : undefined;
  if (at === undefined) return "";
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  return ` at line ${line}, column ${before.length - before.lastIndexOf("\n")}`;
}

/** Parses the text of an images.json named `file`; throws UsageError EIMAGESJSON / EIMAGESVERSION. */
export function parseImagesStrict(file: string, text: string): ImagesFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: $: not JSON (syntax error${syntaxLocation(text, error)})`, "EIMAGESJSON", { cause: error });
  }
  const version = (parsed as { version?: unknown } | null)?.version;
  if (parsed && typeof parsed === "object" && version !== IMAGES_FILE_VERSION) {
    throw new UsageError(`${file}: $.version: this tool reads images.json format version ${IMAGES_FILE_VERSION}, found ${JSON.stringify(version ?? null)}`, "EIMAGESVERSION");
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = jsonPath(issue?.path ?? []);
    throw new UsageError(`${file}: ${where}: ${issue?.message ?? "invalid"} (expected {"version": ${IMAGES_FILE_VERSION}, "images": [...]})`, "EIMAGESJSON");
  }
  // The records as written (zod's copy would reorder their keys), now known to have the shape.
  return { version: IMAGES_FILE_VERSION, images: (parsed as { images: ImageRecord[] }).images };
}

/** Reads `file` strictly; `missingOk` makes an absent file an empty images.json. */
export async function readImagesStrict(file: string, options: { missingOk?: boolean } = {}): Promise<ImagesFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && options.missingOk) return { version: IMAGES_FILE_VERSION, images: [] };
    if (code === "ENOENT" || code === "EISDIR" || code === "EACCES") throw new UsageError(`${file}: cannot read it (${code})`, "EIMAGESJSON", { cause: error });
    throw error;
  }
  return parseImagesStrict(file, text);
}
