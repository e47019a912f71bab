/**
 * The stand-in GitHub of `npm run dev:stub`: the two GitHub API calls the
 * Worker makes for a repository task (its repository's default branch, and
 * opening a pull request), answered locally so that `--push --pr` works end to
 * end with no GitHub and no credential. The address of a pull request it
 * opens says it is a stand-in (`https://stand-in-github.invalid/…`, a name that
 * can never resolve): nothing is pushed or opened anywhere.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A running stand-in GitHub. */
export interface StubGitHub {
  /** Its API's base URL (the Worker's GITHUB_API_URL). */
  apiUrl: string;
  close(): Promise<void>;
}

/** The token dev:stub gives the Worker for it: the stand-in takes any. */
export const STUB_GITHUB_TOKEN = "stand-in-github-token-for-dev-stub";

/** Where the stand-in's pull requests are said to be. */
export const STUB_PULL_REQUEST_ORIGIN = "https://stand-in-github.invalid";

/** Starts the stand-in on a free loopback port. */
export async function startStubGitHub(): Promise<StubGitHub> {
  let opened = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const path = new URL(request.url ?? "/", "http://stand-in").pathname;
      const repository = /^\/repos\/([^/]+)\/([^/]+)$/.exec(path);
      const pulls = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(path);
      const json = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (repository && request.method === "GET") {
        json(200, { default_branch: "main" });
      } else if (pulls && request.method === "POST") {
        opened += 1;
        json(201, { number: opened, html_url: `${STUB_PULL_REQUEST_ORIGIN}/${pulls[1]}/${pulls[2]}/pull/${opened}` });
      } else if (pulls && request.method === "GET") {
        // Whether one is open for the branch already: none are.
        json(200, []);
      } else {
        json(404, { message: "Not Found: dev:stub's stand-in GitHub answers only what repository tasks ask" });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
