/**
 * The Tasks view's list as it refreshes itself: the newest page fetched
 * again, merged with older pages the person loaded. Pure.
 */
import type { ConsoleTask } from "./api.js";

/** The tasks shown and where the next older page starts. */
export interface TaskListState {
  tasks: ConsoleTask[];
  /** The cursor of the next older page; null when the last page is shown. */
  cursor: string | null;
  /** Whether older pages were loaded beyond the newest one. */
  olderLoaded: boolean;
}

/**
 * `shown` after a fresh newest page: the fresh page replaces what it covers
 * (a task that left the filter goes, a changed one is updated); tasks of
 * older pages, older than the fresh page's oldest, stay.
 */
export function mergeNewestPage(shown: TaskListState, fresh: { tasks: ConsoleTask[]; cursor: string | null }): TaskListState {
  if (!shown.olderLoaded || fresh.cursor === null) return { tasks: fresh.tasks, cursor: fresh.cursor, olderLoaded: false };
  const oldest = fresh.tasks.at(-1)?.createdAt ?? "";
  const ids = new Set(fresh.tasks.map((task) => task.taskId));
  const older = shown.tasks.filter((task) => !ids.has(task.taskId) && task.createdAt < oldest);
  return { tasks: [...fresh.tasks, ...older], cursor: shown.cursor, olderLoaded: true };
}

/** `shown` with an older page appended. */
export function appendOlderPage(shown: TaskListState, page: { tasks: ConsoleTask[]; cursor: string | null }): TaskListState {
  const ids = new Set(shown.tasks.map((task) => task.taskId));
  return { tasks: [...shown.tasks, ...page.tasks.filter((task) => !ids.has(task.taskId))], cursor: page.cursor, olderLoaded: true };
}

/** What the Repository column says: `host/owner/repo · branch`, without the scheme. */
export function repositoryLabel(task: Pick<ConsoleTask, "repository">): string {
  if (!task.repository) return "";
  const where = task.repository.url.replace(/^https:\/\//, "").replace(/\.git$/, "");
  return `${where} · ${task.repository.branch}`;
}
