/**
 * The console's places, kept in the URL's fragment (`#/tasks`, `#/tasks/<id>`,
 * `#/new`) so that the static assets need no server-side routing, and every
 * view can be bookmarked, shared and reached with Back.
 */
import { TASK_STATUSES, type TaskStatus } from "../../worker/src/contract.js";

/** Where the console is. */
export type Route =
  | { view: "tasks"; status: TaskStatus | null }
  | { view: "task"; taskId: string }
  | { view: "new"; continueFrom: string | null };

const TASK_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Reads a `location.hash`; anything unknown is the task list. */
export function parseRoute(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?", 2);
  const params = new URLSearchParams(query);
  const segments = path.split("/").filter((segment) => segment !== "");
  if (segments[0] === "tasks" && segments.length === 2 && TASK_ID.test(segments[1]!)) return { view: "task", taskId: segments[1]!.toLowerCase() };
  if (segments[0] === "new" && segments.length === 1) {
    const continueFrom = params.get("continueFrom");
    return { view: "new", continueFrom: continueFrom !== null && TASK_ID.test(continueFrom) ? continueFrom.toLowerCase() : null };
  }
  const status = params.get("status");
  return { view: "tasks", status: (TASK_STATUSES as readonly string[]).includes(status ?? "") ? (status as TaskStatus) : null };
}

/** The fragment of a route, `#/…`. */
export function routeHash(route: Route): string {
  switch (route.view) {
    case "tasks":
      return route.status === null ? "#/tasks" : `#/tasks?status=${route.status}`;
    case "task":
      return `#/tasks/${route.taskId}`;
    case "new":
      return route.continueFrom === null ? "#/new" : `#/new?continueFrom=${route.continueFrom}`;
  }
}
