/**
 * Matching a request to a route, as a pure function. The API has a handful of
 * fixed routes, each a method and a path of literal segments and `:name`
 * parameters; a small table here costs the bundle far less than a routing
 * library (docs/performance.md). Segments are split before they are decoded,
 * so an encoded `/` (`%2F`) stays inside its parameter, where validation
 * refuses it.
 */

export interface Route<Handler> {
  method: "GET" | "POST";
  /** e.g. `/tasks/:taskId/events` */
  pattern: string;
  /** `open`: anyone; `bearer`: only a request with a valid API token, checked before the handler runs. */
  auth: "open" | "bearer";
  handler: Handler;
}

export type RouteMatch<Handler> =
  | { kind: "route"; route: Route<Handler>; params: Record<string, string> }
  /** The path exists with other methods: a 405 with `Allow`. */
  | { kind: "method_not_allowed"; pattern: string; allow: string }
  | { kind: "not_found" };

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Malformed percent-encoding: kept as sent, and refused by the parameter's validation.
    return segment;
  }
}

/** Each pattern's segments, split once. */
const PATTERN_PARTS = new Map<string, string[]>();

function partsOf(pattern: string): string[] {
  let parts = PATTERN_PARTS.get(pattern);
  if (!parts) {
    parts = pattern.split("/").slice(1);
    PATTERN_PARTS.set(pattern, parts);
  }
  return parts;
}

function matchPath(pattern: string, segments: string[]): Record<string, string> | null {
  const parts = partsOf(pattern);
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (const [index, part] of parts.entries()) {
    const segment = segments[index]!;
    if (part.startsWith(":")) {
      if (segment.length === 0) return null;
      params[part.slice(1)] = decode(segment);
    } else if (part !== segment) {
      return null;
    }
  }
  return params;
}

/** Finds the route for `method` and `pathname`; HEAD is served by the GET route. */
export function matchRoute<Handler>(routes: readonly Route<Handler>[], method: string, pathname: string): RouteMatch<Handler> {
  const segments = pathname.split("/").slice(1);
  const wanted = method === "HEAD" ? "GET" : method;
  const methods = new Set<string>();
  let pattern = "";
  for (const route of routes) {
    const params = matchPath(route.pattern, segments);
    if (params === null) continue;
    if (route.method === wanted) return { kind: "route", route, params };
    pattern = route.pattern;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  if (methods.size === 0) return { kind: "not_found" };
  const order = ["GET", "HEAD", "POST"];
  return { kind: "method_not_allowed", pattern, allow: [...methods].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(", ") };
}
