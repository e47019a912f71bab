/**
 * Task: one task's status, timing, model, tokens and cost; its live
 * transcript; its final answer (Markdown, raw HTML off); for a repository
 * task its branch, commits, pull request and patch. Cancel (after a
 * confirmation), Follow up and Download patch act on it.
 */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { TERMINAL_STATUSES, type TaskResult, type TaskStatus } from "../../../worker/src/contract.js";
import type { Api, ConsoleTask } from "../api.js";
import { followTaskEvents, type StreamState } from "../event-stream.js";
import { formatCost, formatDuration, formatTime, formatTokens, modelsOf, shortId, UNKNOWN } from "../format.js";
import { routeHash } from "../routes.js";
import { appendEvents, EMPTY_TRANSCRIPT, type Transcript } from "../transcript.js";
import { describeError, ErrorNotice, StatusBadge } from "./common.js";
import { DiffView } from "./diff-view.js";
import { FinalAnswer } from "./final-answer.js";
import { TranscriptView } from "./transcript-view.js";

const REFRESH_MS = 5_000;
const PATCH_ARTIFACT = "changes.patch";

const isTerminal = (status: TaskStatus) => (TERMINAL_STATUSES as readonly string[]).includes(status);

/** An https link from the API (a pull request), or null for anything else. */
function safeHttpsUrl(url: string): string | null {
  try {
    return new URL(url).protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

function Summary({ task, transcript, now }: { task: ConsoleTask; transcript: Transcript; now: number }) {
  const running = task.startedAt !== null && task.durationMs === null && !isTerminal(task.status);
  const duration = running ? now - Date.parse(task.startedAt!) : task.durationMs;
  const rows: [string, ComponentChildren][] = [
    ["Status", <StatusBadge status={task.status} />],
    ["Task id", <code>{task.taskId}</code>],
  ];
  if (task.submittedBy !== undefined) rows.push(["Submitted by", task.submittedBy]);
  rows.push(
    ["Created", formatTime(task.createdAt)],
    ["Started", formatTime(task.startedAt)],
    ["Finished", formatTime(task.finishedAt)],
    [running ? "Running for" : "Duration", formatDuration(duration)],
    ["Timeout", formatDuration(task.timeoutMs)],
    ["Model", modelsOf(task.usage, transcript.model)],
    ["Tokens", formatTokens(task.usage)],
    ["Cost", formatCost(task.usage?.costUsd)],
    ["Turns", task.usage?.numTurns == null ? UNKNOWN : String(task.usage.numTurns)],
  );
  if (task.queuePosition !== undefined) {
    rows.push(["Waiting behind", `${task.queuePosition} earlier ${task.queuePosition === 1 ? "task" : "tasks"} on its branch`]);
  }
  if (task.continuedFrom !== undefined) {
    rows.push(["Follows up", <a href={routeHash({ view: "task", taskId: task.continuedFrom })}>{shortId(task.continuedFrom)}</a>]);
  }
  if (task.callback !== undefined) {
    const { attempts, delivered, lastStatus } = task.callback;
    const last = lastStatus === null ? "" : ` (last: HTTP ${lastStatus})`;
    rows.push(["Webhook", `${delivered ? "delivered" : "not delivered"} after ${attempts} ${attempts === 1 ? "attempt" : "attempts"}${last}`]);
  }
  if (task.error !== null) rows.push(["Error", `${task.error.message} (${task.error.code})`]);
  return (
    <dl class="facts">
      {rows.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function RepositorySection({ task, patch, patchError }: { task: ConsoleTask; patch: string | null; patchError: string | null }) {
  const repository = task.repository!;
  const pullRequest = repository.pullRequest ? safeHttpsUrl(repository.pullRequest.url) : null;
  const stat = repository.diffStat;
  return (
    <section aria-labelledby="repository-title">
      <h2 id="repository-title">Repository</h2>
      <dl class="facts facts-wide">
        <div>
          <dt>Repository</dt>
          <dd>
            <code>{repository.url}</code>
          </dd>
        </div>
        <div>
          <dt>Checked out</dt>
          <dd>{repository.ref ?? "default branch"}</dd>
        </div>
        <div>
          <dt>Branch</dt>
          <dd>
            <code>{repository.branch}</code>
            {repository.pushed ? " (pushed)" : repository.push ? " (to be pushed)" : ""}
          </dd>
        </div>
        <div>
          <dt>Base commit</dt>
          <dd>{repository.base ? <code>{repository.base}</code> : UNKNOWN}</dd>
        </div>
        <div>
          <dt>Commit</dt>
          <dd>{repository.head ? <code>{repository.head}</code> : UNKNOWN}</dd>
        </div>
        <div>
          <dt>Pull request</dt>
          <dd>
            {pullRequest && repository.pullRequest ? (
              <a href={pullRequest} target="_blank" rel="noopener noreferrer">
                #{repository.pullRequest.number}
              </a>
            ) : repository.pullRequestRequested ? (
              "requested, not opened yet"
            ) : (
              "none"
            )}
          </dd>
        </div>
        {stat && (
          <div>
            <dt>Changes</dt>
            <dd>
              {stat.filesChanged} {stat.filesChanged === 1 ? "file" : "files"}, <span class="added">+{stat.insertions}</span>{" "}
              <span class="removed">−{stat.deletions}</span>
            </dd>
          </div>
        )}
      </dl>
      <ErrorNotice error={patchError} />
      {patch !== null && (
        <>
          <h3>Patch</h3>
          <DiffView patch={patch} />
        </>
      )}
    </section>
  );
}

export function TaskView({ api, taskId }: { api: Api; taskId: string }) {
  const [task, setTask] = useState<ConsoleTask | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [transcript, setTranscript] = useState<Transcript>(EMPTY_TRANSCRIPT);
  const [stream, setStream] = useState<StreamState>("connecting");
  const [result, setResult] = useState<TaskResult | null>(null);
  const [patch, setPatch] = useState<string | null>(null);
  const [patchError, setPatchError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const [now, setNow] = useState(Date.now());
  const confirmation = useRef<HTMLDialogElement>(null);

  const refresh = useCallback(async () => {
    try {
      setTask(await api.getTask(taskId));
      setError(null);
    } catch (failure) {
      setError(`The task could not be loaded: ${describeError(failure)}`);
    }
  }, [api, taskId]);

  const terminal = task !== null && isTerminal(task.status);

  // The status document now, and again every few seconds until the task ends.
  useEffect(() => {
    void refresh();
    if (terminal) return;
    const timer = setInterval(() => {
      void refresh();
      setNow(Date.now());
    }, REFRESH_MS);
    const clock = setInterval(() => setNow(Date.now()), 1_000);
    return () => {
      clearInterval(timer);
      clearInterval(clock);
    };
  }, [refresh, terminal]);

  // The events, live; a status change or the end brings the status document at once.
  useEffect(() => {
    const controller = new AbortController();
    void followTaskEvents({
      api,
      taskId,
      after: 0,
      signal: controller.signal,
      onState: setStream,
      onEvents: (events) => {
        setTranscript((shown) => appendEvents(shown, events));
        if (events.some((event) => event.type === "status" || event.type === "result" || event.type === "end")) void refresh();
      },
    }).then((outcome) => {
      if (outcome.kind === "failed" && outcome.error.status !== 401) setError(`The events could not be followed: ${describeError(outcome.error)}`);
    });
    return () => controller.abort();
  }, [api, taskId, refresh]);

  // Once it ended: its result, and a repository task's patch (its link is there from the start, the file only at the end).
  const patchLink = task?.repository?.artifacts[PATCH_ARTIFACT];
  useEffect(() => {
    if (!terminal) return;
    api.getResult(taskId).then(setResult, (failure: unknown) => setError(`The result could not be loaded: ${describeError(failure)}`));
  }, [api, taskId, terminal]);
  useEffect(() => {
    if (!terminal || patchLink === undefined) return;
    api.getPatch(taskId).then(setPatch, (failure: unknown) => setPatchError(`The patch could not be loaded: ${describeError(failure)}`));
  }, [api, taskId, terminal, patchLink]);

  const cancel = async () => {
    setCancelling(true);
    setActionError(null);
    try {
      setTask(await api.cancelTask(taskId));
      confirmation.current?.close();
    } catch (failure) {
      confirmation.current?.close();
      setActionError(`The task could not be cancelled: ${describeError(failure)}`);
      void refresh();
    } finally {
      setCancelling(false);
    }
  };

  const downloadPatch = () => {
    const download = (text: string) => {
      const url = URL.createObjectURL(new Blob([text], { type: "text/x-patch" }));
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.download = `${shortId(taskId)}-changes.patch`;
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    };
    if (patch !== null) download(patch);
    else api.getPatch(taskId).then(download, (failure: unknown) => setActionError(`The patch could not be downloaded: ${describeError(failure)}`));
  };

  const title = task?.title ?? `Task ${shortId(taskId)}`;
  return (
    <article aria-labelledby="task-title">
      <p class="crumbs">
        <a href="#/tasks">Tasks</a> /
      </p>
      <h1 id="task-title" tabIndex={-1}>
        {title}
      </h1>
      <ErrorNotice error={error} />
      {task && (
        <>
          <div class="actions">
            {!terminal && (
              <button type="button" class="danger" onClick={() => confirmation.current?.showModal()}>
                Cancel
              </button>
            )}
            {task.repository && (
              <button type="button" onClick={() => (window.location.hash = routeHash({ view: "new", continueFrom: taskId }))}>
                Follow up
              </button>
            )}
            {terminal && patchLink !== undefined && (
              <button type="button" onClick={downloadPatch}>
                Download patch
              </button>
            )}
          </div>
          <ErrorNotice error={actionError} />
          <Summary task={task} transcript={transcript} now={now} />
        </>
      )}
      <TranscriptView transcript={transcript} stream={stream} />
      {result && <FinalAnswer result={result} />}
      {task?.repository && <RepositorySection task={task} patch={patch} patchError={patchError} />}
      <dialog ref={confirmation} aria-labelledby="cancel-title" aria-describedby="cancel-text">
        <h2 id="cancel-title">Cancel this task?</h2>
        <p id="cancel-text">Claude Code stops and the task's container is destroyed. What the task printed so far is kept.</p>
        <div class="actions">
          <button type="button" class="danger" onClick={cancel} disabled={cancelling}>
            {cancelling ? "Cancelling…" : "Cancel task"}
          </button>
          <button type="button" autoFocus onClick={() => confirmation.current?.close()}>
            Keep it running
          </button>
        </div>
      </dialog>
    </article>
  );
}
