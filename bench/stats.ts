// Summaries of paired benchmark runs. Run i of one arm is paired with run i of the other (taken
// right after it, under the same load); both summaries are printed because they answer different
// questions: the ratio of the medians compares typical times, the median of the per-run ratios
// is steadier when the load swings between pairs. Neither stands in for the other.

/** The median; the mean of the two middle values for an even count. Throws on no or non-finite values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const bad = values.find((v) => !Number.isFinite(v));
  if (bad !== undefined) throw new Error(`median of a non-finite value (${bad})`);
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

export interface Comparison {
  numerator: number[];
  denominator: number[];
  medianNumerator: number;
  medianDenominator: number;
  /** median(numerator) / median(denominator) */
  ratioOfMedians: number;
  /** median over i of numerator[i] / denominator[i] */
  medianOfRatios: number;
  /** numerator[i] / denominator[i], in run order */
  ratios: number[];
}

/** Pairs run i of `numerator` with run i of `denominator`. */
export function compareRuns(numerator: readonly number[], denominator: readonly number[]): Comparison {
  if (numerator.length !== denominator.length) throw new Error(`cannot pair ${numerator.length} runs with ${denominator.length}`);
  if (denominator.some((v) => !(v > 0))) throw new Error(`a ratio needs positive denominators, found ${denominator.join(", ")}`);
  const ratios = numerator.map((x, i) => x / (denominator[i] as number));
  const medianNumerator = median(numerator);
  const medianDenominator = median(denominator);
  return {
    numerator: [...numerator],
    denominator: [...denominator],
    medianNumerator,
    medianDenominator,
    ratioOfMedians: medianNumerator / medianDenominator,
    medianOfRatios: median(ratios),
    ratios,
  };
}

/** "1.30 (median of per-run ratios 1.17; runs 1.15, 1.51, 1.17)" */
export function describeRatio(c: Comparison, digits = 2): string {
  const runs = c.ratios.length > 1 ? `; runs ${c.ratios.map((r) => r.toFixed(digits)).join(", ")}` : "";
  return `${c.ratioOfMedians.toFixed(digits)} (median of per-run ratios ${c.medianOfRatios.toFixed(digits)}${runs})`;
}
