// Which listr2 renderer a command uses: the live task list on an interactive terminal, and a
// plain renderer (one line per event, no cursor movement) when stderr is not a TTY or CI is
// set. All task-list output goes to stderr so stdout stays free for --json.
import { ListrLogger, ProcessOutput, type ListrBaseClassOptions } from "listr2";
import { isInteractive } from "../cli/output.js";

export interface TaskListSettings {
  env?: NodeJS.ProcessEnv;
  /** Force the plain renderer (e.g. with --json, or when the caller logs to a file). */
  plain?: boolean;
  concurrent?: boolean | number;
  exitOnError?: boolean;
}

export type TaskListOptions = ListrBaseClassOptions<unknown, "default", "simple">;

/** True when progress should be plain lines (not a TTY, CI set, a terminal without a width, or forced). */
export function usePlainProgress(settings: Pick<TaskListSettings, "env" | "plain"> = {}): boolean {
  return Boolean(settings.plain) || !isInteractive(settings.env ?? process.env) || !process.stderr.columns;
}

/** Options for `new Listr(tasks, taskListOptions(...))`; signal handling stays with the caller. */
export function taskListOptions(settings: TaskListSettings = {}): TaskListOptions {
  const processOutput = new ProcessOutput(process.stderr, process.stderr);
  return {
    concurrent: settings.concurrent ?? false,
    exitOnError: settings.exitOnError ?? true,
    // The command decides what SIGINT does (abort, clean up); listr2 must not exit the process.
    registerSignalListeners: false,
    renderer: "default",
    rendererOptions: { logger: new ListrLogger({ useIcons: true, processOutput }), collapseSubtasks: false, showErrorMessage: false },
    fallbackRenderer: "simple",
    fallbackRendererOptions: { logger: new ListrLogger({ useIcons: false, processOutput }), timestamp: undefined },
    fallbackRendererCondition: usePlainProgress(settings),
    silentRendererCondition: false,
  };
}
