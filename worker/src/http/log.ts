/**
 * One structured JSON log line per request. It holds the method, the matched
 * route pattern (never the raw path), the status, the task id, the duration and
 * error or warning codes: never a header, a body, the task text or a secret.
 */
export interface RequestLog {
  method: string;
  /** The route pattern, e.g. `/tasks/:taskId/result`, or `unmatched`. */
  route: string;
  status: number;
  started: number;
  taskId?: string;
  /** The API error code of a non-2xx answer. */
  code?: string;
  /** The task's `error.code` when a task ran and did not succeed. */
  taskError?: string;
  /** Codes of problems that did not change the answer, such as `sandbox_destroy_failed`. */
  warnings: string[];
}

export function writeRequestLog(log: RequestLog): void {
  const line = {
    level: log.status >= 500 ? "error" : "info",
    event: "request",
    method: log.method,
    route: log.route,
    status: log.status,
    durationMs: Date.now() - log.started,
    ...(log.taskId === undefined ? {} : { taskId: log.taskId }),
    ...(log.code === undefined ? {} : { code: log.code }),
    ...(log.taskError === undefined ? {} : { taskError: log.taskError }),
    ...(log.warnings.length === 0 ? {} : { warnings: log.warnings }),
  };
  console.log(JSON.stringify(line));
}
