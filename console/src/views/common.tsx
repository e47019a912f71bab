/** Small pieces the views share. */
import type { TaskStatus } from "../../../worker/src/contract.js";

/** A task's status, as text (colour only repeats what the word says). */
export function StatusBadge({ status }: { status: TaskStatus }) {
  return <span class={`status status-${status}`}>{status}</span>;
}

/** An error of the page, announced when it appears. */
export function ErrorNotice({ error }: { error: string | null }) {
  if (error === null) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

/** What to tell a person about a failed request. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !code.startsWith("http_") && code !== "network_error" ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
