// Tasks whose work runs elsewhere (a stage that reports events, a child process): each listr2
// task waits until the owner settles it by key, and shows the output/title the owner sets.
// This lets a stage keep its own scheduling and stay testable without a task list.
import type { ListrTask, ListrTaskWrapper } from "listr2";

type Wrapper = Pick<ListrTaskWrapper<unknown, never, never>, "title" | "output">;

interface Slot {
  title: string;
  output: string | undefined;
  wrapper: Wrapper | undefined;
  settled: boolean;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class TrackedTasks {
  private readonly slots = new Map<string, Slot>();

  constructor(items: ReadonlyArray<{ key: string; title: string }>) {
    for (const item of items) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => undefined); // a failure is reported by the task list, or by the owner
      this.slots.set(item.key, { title: item.title, output: undefined, wrapper: undefined, settled: false, promise, resolve, reject });
    }
  }

  /** One listr2 task per item, in the order given. */
  tasks(): ListrTask[] {
    return [...this.slots.values()].map((slot) => ({
      title: slot.title,
      task: (_ctx: unknown, wrapper: Wrapper) => {
        slot.wrapper = wrapper;
        wrapper.title = slot.title;
        if (slot.output !== undefined) wrapper.output = slot.output;
        return slot.promise;
      },
    }));
  }

  setTitle(key: string, title: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.title = title;
    if (slot.wrapper) slot.wrapper.title = title;
  }

  setOutput(key: string, output: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.output = output;
    if (slot.wrapper) slot.wrapper.output = output;
  }

  finish(key: string, title?: string): void {
    const slot = this.slots.get(key);
    if (!slot || slot.settled) return;
    if (title !== undefined) this.setTitle(key, title);
    slot.settled = true;
    slot.resolve();
  }

  fail(key: string, error: Error): void {
    const slot = this.slots.get(key);
    if (!slot || slot.settled) return;
    slot.settled = true;
    slot.reject(error);
  }

  /** Fails every task not settled yet (the owner stopped early, e.g. on Ctrl-C), so the list ends. */
  failRemaining(error: Error): void {
    for (const key of this.slots.keys()) this.fail(key, error);
  }
}
