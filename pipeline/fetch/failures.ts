// Every failure of a run is reported, one line each: a single problem is thrown as itself
// (its code stays visible, e.g. in --json), several as one AggregateWorkError.
import { AggregateWorkError } from "../errors/index.js";

export function throwAll(errors: readonly Error[], summary: (count: number) => string): void {
  const [only] = errors;
  if (only && errors.length === 1) throw only;
  if (errors.length > 1) throw new AggregateWorkError(summary(errors.length), errors);
}

/** The values of settled promises, or every rejection thrown at once. */
export function valuesOrThrow<T>(settled: readonly PromiseSettledResult<T>[], summary: (count: number) => string): T[] {
  const errors = settled.flatMap((s) => (s.status === "rejected" ? [s.reason instanceof Error ? s.reason : new Error(String(s.reason))] : []));
  throwAll(errors, summary);
  return settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
}
