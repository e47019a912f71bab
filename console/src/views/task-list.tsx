/**
 * Tasks: the deployment's tasks, newest first, with a status filter, a chart
 * of tasks and cost per day, and older pages on demand. It refreshes itself
 * every few seconds while the page is visible.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { TASK_STATUSES, TERMINAL_STATUSES, type TaskStatus } from "../../../worker/src/contract.js";
import type { Api, ConsoleTask } from "../api.js";
import { formatCost, formatDuration, formatTime, shortId } from "../format.js";
import { routeHash } from "../routes.js";
import { appendOlderPage, mergeNewestPage, repositoryLabel, type TaskListState } from "../task-list.js";
import { DailyChart } from "./daily-chart.js";
import { describeError, ErrorNotice, StatusBadge } from "./common.js";

const PAGE_SIZE = 50;
const REFRESH_MS = 4_000;

/** How long a task has run: its duration once it ended, else the time since it started. */
function elapsed(task: ConsoleTask, now: number): number | null {
  if (task.durationMs !== null) return task.durationMs;
  if (task.startedAt !== null && !(TERMINAL_STATUSES as readonly string[]).includes(task.status)) return now - Date.parse(task.startedAt);
  return null;
}

export function TaskListView({ api, status }: { api: Api; status: TaskStatus | null }) {
  const [list, setList] = useState<TaskListState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [now, setNow] = useState(Date.now());
  const listRef = useRef(list);
  listRef.current = list;

  useEffect(() => {
    let stopped = false;
    setList(null);
    const refresh = async () => {
      if (document.hidden && listRef.current !== null) return;
      try {
        const fresh = await api.listTasks({ status, limit: PAGE_SIZE });
        if (stopped) return;
        setList((shown) => (shown === null ? { tasks: fresh.tasks, cursor: fresh.cursor, olderLoaded: false } : mergeNewestPage(shown, fresh)));
        setNow(Date.now());
        setError(null);
      } catch (failure) {
        if (!stopped) setError(`The list could not be refreshed: ${describeError(failure)}`);
      }
    };
    void refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, status]);

  const loadOlder = async () => {
    if (!list?.cursor) return;
    setLoadingOlder(true);
    try {
      const page = await api.listTasks({ status, limit: PAGE_SIZE, cursor: list.cursor });
      setList((shown) => (shown === null ? shown : appendOlderPage(shown, page)));
    } catch (failure) {
      setError(`Older tasks could not be loaded: ${describeError(failure)}`);
    } finally {
      setLoadingOlder(false);
    }
  };

  return (
    <section aria-labelledby="tasks-title">
      <div class="title-row">
        <h1 id="tasks-title" tabIndex={-1}>
          Tasks
        </h1>
        <a class="button" href="#/new">
          New task
        </a>
      </div>
      <div class="filters">
        <label for="status-filter">Status</label>
        <select
          id="status-filter"
          value={status ?? ""}
          onChange={(event) => {
            const chosen = event.currentTarget.value;
            window.location.hash = routeHash({ view: "tasks", status: chosen === "" ? null : (chosen as TaskStatus) });
          }}
        >
          <option value="">All</option>
          {TASK_STATUSES.map((option) => (
            <option value={option}>{option}</option>
          ))}
        </select>
      </div>
      <ErrorNotice error={error} />
      {list === null && error === null && <p role="status">Loading tasks…</p>}
      {list !== null && <DailyChart tasks={list.tasks} />}
      {list !== null && list.tasks.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="tasks-title">
          <table aria-label="Tasks">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Task</th>
                <th scope="col">Repository</th>
                <th scope="col">Created</th>
                <th scope="col">Duration</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {list.tasks.map((task) => (
                <tr key={task.taskId}>
                  <td>
                    <StatusBadge status={task.status} />
                  </td>
                  <td class="task-cell">
                    <a href={routeHash({ view: "task", taskId: task.taskId })}>{task.title ?? `Task ${shortId(task.taskId)}`}</a>
                    {task.title !== undefined && <span class="muted"> {shortId(task.taskId)}</span>}
                    {task.submittedBy !== undefined && <span class="muted by"> by {task.submittedBy}</span>}
                  </td>
                  <td>{repositoryLabel(task)}</td>
                  <td>
                    <time dateTime={task.createdAt}>{formatTime(task.createdAt)}</time>
                  </td>
                  <td>{formatDuration(elapsed(task, now))}</td>
                  <td>{formatCost(task.usage?.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list !== null && list.tasks.length === 0 && (
        <p class="empty">
          {status === null ? "No tasks yet." : `No ${status} tasks.`} <a href="#/new">Start one</a>.
        </p>
      )}
      {list?.cursor && (
        <button type="button" onClick={loadOlder} disabled={loadingOlder}>
          {loadingOlder ? "Loading…" : "Show older tasks"}
        </button>
      )}
    </section>
  );
}
