/**
 * The console as `npm run dev:stub` serves it, through wrangler's own static
 * assets router: its files under /console/ with the security headers of the
 * `_headers` file, a browser sent there from `/`, and every API route still
 * answered by the Worker, in JSON, with the API's codes, whatever the client
 * accepts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_SECURITY_HEADERS } from "../../console/security-headers.js";
import { type SharedStub, sharedStub } from "../fixtures/dev-stub.js";

const HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const UNKNOWN_TASK = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";

/** Every route the Worker declares (`{ method, pattern, auth }` in worker/src/http), read from its source. */
function apiRoutes(): { method: string; pattern: string; auth: string }[] {
  const directory = "worker/src/http";
  const source = readdirSync(directory)
    .filter((name) => name.endsWith(".ts"))
    .map((name) => readFileSync(join(directory, name), "utf8"))
    .join("\n");
  return [...source.matchAll(/\{\s*method:\s*"(GET|POST)",\s*pattern:\s*"([^"]+)",\s*auth:\s*"(open|bearer)"/g)].map(([, method, pattern, auth]) => ({
    method: method!,
    pattern: pattern!,
    auth: auth!,
  }));
}

let stub: SharedStub;
beforeAll(async () => {
  stub = await sharedStub();
});

describe("the console's files", () => {
  it.each(["/console/", "/console/app.js", "/console/app.css", "/console/favicon.svg"])("%s carries every security header", async (path) => {
    const response = await fetch(`${stub.url}${path}`, { headers: { accept: HTML } });
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) expect(response.headers.get(name), name).toBe(value);
  });

  it("serves the page as HTML and the script as JavaScript", async () => {
    const page = await fetch(`${stub.url}/console/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
    const script = await fetch(`${stub.url}/console/app.js`);
    await script.arrayBuffer();
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
  });
});

describe.each(["/", "/console"])("%s", (path) => {
  it("sends a browser to the console", async () => {
    const response = await fetch(`${stub.url}${path}`, { headers: { accept: HTML }, redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/console/");
  });

  it("is nothing to an API client", async () => {
    const response = await fetch(`${stub.url}${path}`, { headers: { accept: "application/json" } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: "not_found" });
  });
});

describe("every API route, with the console's assets served beside it", () => {
  const routes = apiRoutes();

  it("is found in the Worker's source", () => {
    expect(routes.length).toBeGreaterThanOrEqual(10);
    expect(routes).toContainEqual({ method: "GET", pattern: "/tasks/:taskId/events", auth: "bearer" });
  });

  for (const accept of [HTML, "application/json"]) {
    it(`answers the Worker's JSON, with a token or without, for Accept: ${accept.split(",")[0]}`, async () => {
      // The open routes that send a browser to the console are tested above.
      for (const { method, pattern } of routes.filter((route) => route.pattern !== "/" && route.pattern !== "/console")) {
        const path = pattern.replace(":taskId", UNKNOWN_TASK).replace(":name", "changes.patch");
        const anonymous = await fetch(`${stub.url}${path}`, { method, headers: { accept } });
        const body = (await anonymous.json()) as { code?: string; status?: string };
        expect(anonymous.headers.get("content-type"), `${method} ${pattern}`).toBe("application/json");
        if (pattern === "/health") {
          expect([anonymous.status, body.status], pattern).toEqual([200, "healthy"]);
          continue;
        }
        expect([anonymous.status, body.code], `${method} ${pattern}`).toEqual([401, "unauthorized"]);
        if (method !== "GET" || pattern === "/diagnostics") continue;
        const signedIn = await fetch(`${stub.url}${path}`, { headers: { accept, authorization: `Bearer ${stub.token}` } });
        const answer = (await signedIn.json()) as { code?: string };
        expect(signedIn.headers.get("content-type"), `GET ${pattern}`).toBe("application/json");
        if (pattern === "/tasks") expect(signedIn.status).toBe(200);
        else expect([signedIn.status, answer.code], `GET ${pattern}`).toEqual([404, expect.stringMatching(/_not_found$/)]);
      }
    });
  }
});
