// A minimal ustar writer for byte-reproducible archives: the caller decides every header field
// that could carry host-specific bytes (mode, mtime, owner), so nothing comes from the host.

export interface TarEntry {
  /** Path inside the archive, `/`-separated, no leading `./`; directories end without `/`. */
  path: string;
  type: "file" | "directory";
  mode: number;
  mtime: number;
  content?: Buffer;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 octal digits, then NUL.
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** Splits a long path into ustar's prefix (≤155) and name (≤100) at a `/`. */
function splitPath(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: "", name: path };
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  throw new Error(`path too long for a ustar header: ${path}`);
}

function header(entry: TarEntry): Buffer {
  const block = Buffer.alloc(BLOCK, 0);
  const isDir = entry.type === "directory";
  const { prefix, name } = splitPath(isDir ? `${entry.path}/` : entry.path);
  const size = isDir ? 0 : (entry.content?.length ?? 0);
  block.write(name, 0, 100, "utf8");
  block.write(octal(entry.mode, 8), 100, 8, "ascii");
  block.write(octal(0, 8), 108, 8, "ascii"); // uid
  block.write(octal(0, 8), 116, 8, "ascii"); // gid
  block.write(octal(size, 12), 124, 12, "ascii");
  block.write(octal(entry.mtime, 12), 136, 12, "ascii");
  block.write("        ", 148, 8, "ascii"); // checksum placeholder: spaces
  block.write(isDir ? "5" : "0", 156, 1, "ascii");
  block.write("ustar\0", 257, 6, "ascii");
  block.write("00", 263, 2, "ascii");
  block.write("root", 265, 32, "ascii");
  block.write("root", 297, 32, "ascii");
  block.write(octal(0, 8), 329, 8, "ascii"); // devmajor
  block.write(octal(0, 8), 337, 8, "ascii"); // devminor
  block.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return block;
}

/** The tar stream of `entries`, in the given order, ending with two zero blocks. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(header(entry));
    if (entry.type === "file" && entry.content && entry.content.length > 0) {
      parts.push(entry.content);
      const pad = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}
