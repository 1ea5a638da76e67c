// eachLimit: every item once, in order of taking, never more than the limit in flight.
import { describe, expect, it } from "vitest";
import { eachLimit } from "../../pipeline/concurrency/each-limit.js";

describe("eachLimit", () => {
  it("takes every item once, in order, with at most `limit` running", async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await eachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5 + (n % 3)));
      running--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(3);
  });

  it("rejects with the first failure; an empty list does nothing", async () => {
    await expect(eachLimit([1, 2], 2, async (n) => (n === 2 ? Promise.reject(new Error("two")) : undefined))).rejects.toThrow("two");
    await expect(eachLimit([], 4, () => Promise.reject(new Error("never")))).resolves.toBeUndefined();
  });
});
