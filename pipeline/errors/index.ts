// Errors carry a stable `code` and the data a reader needs; the CLI maps them to exit codes.

/** Bad usage or bad input (a flag, a manifest, an env file): exit 2. */
export class UsageError extends Error {
  readonly code: string;
  constructor(message: string, code = "EUSAGE", options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
    this.code = code;
  }
}

/** The work failed (a download, a digest, a Packer build): exit 1. */
export class WorkError extends Error {
  readonly code: string;
  readonly data: Record<string, unknown>;
  /** Where the full log of the failed work is, when there is one. */
  readonly logPath: string | undefined;
  constructor(
    code: string,
    message: string,
    data: Record<string, unknown> = {},
    options?: ErrorOptions & { logPath?: string },
  ) {
    super(message, options);
    this.name = "WorkError";
    this.code = code;
    this.data = data;
    this.logPath = options?.logPath;
  }
}

/** Several problems found at once (e.g. one per bad artifact); each is reported on its own line. */
export class AggregateWorkError extends WorkError {
  readonly errors: readonly Error[];
  constructor(message: string, errors: readonly Error[]) {
    super("EMULTIPLE", message, { count: errors.length });
    this.errors = errors;
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return 2;
  if (error instanceof WorkError) return 1;
  return 1;
}

/** Message lines for one error: an aggregate is flattened to one line per problem. */
export function describeError(error: unknown): string[] {
  if (error instanceof AggregateWorkError) {
    return error.errors.flatMap((e) => describeError(e));
  }
  if (error instanceof UsageError || error instanceof WorkError) {
    const lines = [`${error.code}: ${error.message}`];
    if (error instanceof WorkError && error.logPath) lines.push(`  log: ${error.logPath}`);
    return lines;
  }
  if (error instanceof Error) return [error.stack ?? error.message];
  return [String(error)];
}
