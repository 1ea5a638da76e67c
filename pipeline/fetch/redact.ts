// The one redaction of credentials in URLs (http://user:pass@host/...): every place that prints,
// logs or serializes a URL passes it through here, so a mirror's password never reaches a
// terminal, a log file or --json output.

/** `scheme://` followed by userinfo (anything up to the first @ before the host's /, ? or #). */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s@]*@/gi;

/** The text with the userinfo of every URL in it replaced by `***`: `http://***@host/path`. */
export function redactUrls(text: string): string {
  return text.replace(USERINFO, "$1***@");
}

/** Deep copy of a JSON-able value with every string redacted (for --json documents and error data). */
export function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redactUrls(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) out[key] = redactDeep(v);
    return out as T;
  }
  return value;
}
