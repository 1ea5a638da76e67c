// Packer's -machine-readable output: `timestamp,target,type,data...` per line, commas inside
// data written as %!(PACKER_COMMA) and newlines as literal \n.
export interface PackerEvent {
  timestamp: number;
  target: string;
  type: string;
  data: string[];
}

/** The reverse of unescapePacker for one line of data (a comma would split the field). */
export function escapePacker(value: string): string {
  return value.replaceAll(",", "%!(PACKER_COMMA)");
}

export function unescapePacker(value: string): string {
  return value.replaceAll("%!(PACKER_COMMA)", ",").replaceAll("\\n", "\n").replaceAll("\\r", "\r");
}

/** One parsed line, or undefined for anything that is not machine-readable output. */
export function parseMachineLine(line: string): PackerEvent | undefined {
  const fields = line.replace(/\r$/, "").split(",");
  if (fields.length < 3) return undefined;
  const [stamp, target, type, ...data] = fields;
  if (!stamp || !/^\d+$/.test(stamp) || !type || !/^[\w-]+$/.test(type)) return undefined;
  return { timestamp: Number(stamp), target: target ?? "", type, data: data.map(unescapePacker) };
}

export type ProgressKind = "say" | "message" | "error" | "artifact" | "other";

export interface Progress {
  kind: ProgressKind;
  text: string;
}

/** What a person would read in Packer's normal output for this event. */
export function describeEvent(event: PackerEvent): Progress | undefined {
  if (event.type === "ui") {
    const [level, ...rest] = event.data;
    const text = rest.join(",").trim();
    if (!text) return undefined;
    if (level === "say") return { kind: "say", text };
    if (level === "error") return { kind: "error", text };
    return { kind: "message", text };
  }
  if (event.type === "artifact" && event.data[1] === "id") {
    return { kind: "artifact", text: `artifact ${event.data[0] ?? "?"}: ${event.data.slice(2).join(",")}` };
  }
  if (event.type === "error") return { kind: "error", text: event.data.join(",") };
  return undefined;
}

/** A one-line form of a raw output line for a progress display or an error tail. */
export function meaningfulLine(line: string): string | undefined {
  const event = parseMachineLine(line);
  if (!event) return line.trim() === "" ? undefined : line.trim();
  const progress = describeEvent(event);
  if (!progress) return undefined;
  return progress.text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" | ");
}
