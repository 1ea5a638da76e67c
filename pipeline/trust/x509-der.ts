// A minimal DER reader: just enough to walk a certificate to its extensions and decode the few
// values Node's X509Certificate does not expose (raw extensions, SAN entries by type, OIDs).
// Strict about lengths: anything that runs past its container is refused, never guessed.

export interface Tlv {
  /** The identifier octet (class, constructed bit and tag number; X.509 needs no multi-byte tags). */
  tag: number;
  /** The content octets. */
  content: Buffer;
  /** Offset just past this element in the buffer it was read from. */
  end: number;
}

export const TAG = {
  BOOLEAN: 0x01,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  IA5_STRING: 0x16,
  SEQUENCE: 0x30,
} as const;

export class DerError extends Error {}

export function readTlv(buffer: Buffer, offset = 0): Tlv {
  if (offset + 2 > buffer.length) throw new DerError(`DER: truncated element at offset ${offset}`);
  const tag = buffer[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`DER: multi-byte tag at offset ${offset} is not supported`);
  let length = buffer[offset + 1] ?? 0;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError(`DER: unsupported length form at offset ${offset}`);
    if (offset + 2 + count > buffer.length) throw new DerError(`DER: truncated length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buffer[offset + 2 + i] ?? 0);
    header += count;
  }
  const start = offset + header;
  const end = start + length;
  if (end > buffer.length) throw new DerError(`DER: element at offset ${offset} runs past its container (${end} > ${buffer.length})`);
  return { tag, content: buffer.subarray(start, end), end };
}

/** The elements inside a constructed value's content. */
export function children(content: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < content.length) {
    const tlv = readTlv(content, offset);
    out.push(tlv);
    offset = tlv.end;
  }
  return out;
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw new DerError(`DER: expected ${what} (tag 0x${tag.toString(16)}), found ${tlv ? `tag 0x${tlv.tag.toString(16)}` : "nothing"}`);
  return tlv;
}

/** Dotted form of an OBJECT IDENTIFIER's content octets. */
export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new DerError("DER: empty OID");
  const parts: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (parts.length === 0) {
      const first = value < 80 ? Math.floor(value / 40) : 2;
      parts.push(first, value - first * 40);
    } else {
      parts.push(value);
    }
    value = 0;
  }
  if (content[content.length - 1]! & 0x80) throw new DerError("DER: OID ends mid-arc");
  return parts.join(".");
}
