/**
 * The console: who is signed in, which view is open (the URL's fragment), and
 * the API client every view uses. State lives here and flows down; each view
 * fetches what it shows through the client.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type Api, ApiRequestError, createApi } from "./api.js";
import { parseRoute, type Route } from "./routes.js";
import { forgetToken, readToken, saveToken } from "./session.js";
import { NewTaskView } from "./views/new-task.js";
import { SignIn } from "./views/sign-in.js";
import { TaskListView } from "./views/task-list.js";
import { TaskView } from "./views/task-view.js";

/** Who the API takes the console's requests from. */
type Auth =
  /** Finding out whether the API lets this browser in without a token (Cloudflare Access). */
  | { kind: "checking" }
  | { kind: "signed_out"; notice: string | null }
  | { kind: "token"; token: string }
  /** The API answered without a token: the deployment's Access lets this browser in. */
  | { kind: "access" };

const tab = () => window.sessionStorage;
const device = () => window.localStorage;

function initialAuth(): Auth {
  const kept = readToken(tab(), device());
  return kept ? { kind: "token", token: kept.token } : { kind: "checking" };
}

export function App() {
  const [auth, setAuth] = useState<Auth>(initialAuth);
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash));
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    const onHashChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onHashChange);
    return () => window.removeEventListener("hashchange", onHashChange);
  }, []);

  // With no token kept, ask the API once without one: behind Cloudflare Access it answers.
  useEffect(() => {
    if (auth.kind !== "checking") return;
    const probe = createApi({ token: null, onUnauthorized: () => undefined });
    probe.listTasks({ limit: 1 }).then(
      () => setAuth({ kind: "access" }),
      (error: unknown) =>
        setAuth({
          kind: "signed_out",
          notice: error instanceof ApiRequestError && error.status !== 401 ? `The API could not be asked: ${error.message}` : null,
        }),
    );
  }, [auth.kind]);

  const api = useMemo<Api | null>(() => {
    if (auth.kind !== "token" && auth.kind !== "access") return null;
    return createApi({
      token: auth.kind === "token" ? auth.token : null,
      onUnauthorized: () => {
        forgetToken(tab(), device());
        setAuth({ kind: "signed_out", notice: auth.kind === "token" ? "The API refused the token. Sign in again." : "Your session ended. Sign in again." });
      },
    });
  }, [auth]);

  // A new view: its heading takes the focus, so keyboard and screen reader users start there.
  useEffect(() => {
    main.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [route, auth.kind]);

  // The fragment holds the view, so the skip link moves the focus instead of following its href.
  const skipToContent = (event: Event) => {
    event.preventDefault();
    main.current?.querySelector<HTMLElement>("h1")?.focus();
  };
  const signIn = (token: string, remember: boolean) => {
    saveToken(token, remember, tab(), device());
    setAuth({ kind: "token", token });
  };
  const signOut = () => {
    forgetToken(tab(), device());
    setAuth({ kind: "signed_out", notice: "Signed out." });
  };

  return (
    <>
      <a class="skip" href="#main" onClick={skipToContent}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/tasks">
          claude-sandbox
        </a>
        {api && (
          <nav aria-label="Main">
            <a href="#/tasks" aria-current={route.view === "tasks" ? "page" : undefined}>
              Tasks
            </a>
            <a href="#/new" aria-current={route.view === "new" ? "page" : undefined}>
              New task
            </a>
            {auth.kind === "token" ? (
              <button type="button" class="link" onClick={signOut}>
                Sign out
              </button>
            ) : (
              // Behind Cloudflare Access, signing out ends the Access session.
              <a href="/cdn-cgi/access/logout">Sign out</a>
            )}
          </nav>
        )}
      </header>
      <main id="main" ref={main}>
        {auth.kind === "checking" && <p role="status">Connecting…</p>}
        {auth.kind === "signed_out" && <SignIn notice={auth.notice} onSignedIn={signIn} />}
        {api && route.view === "tasks" && <TaskListView api={api} status={route.status} />}
        {api && route.view === "task" && <TaskView key={route.taskId} api={api} taskId={route.taskId} />}
        {api && route.view === "new" && <NewTaskView key={route.continueFrom ?? ""} api={api} continueFrom={route.continueFrom} />}
      </main>
    </>
  );
}
