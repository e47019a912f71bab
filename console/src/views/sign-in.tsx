/**
 * Sign-in: the API token, checked against the API before it is kept. It is
 * kept for the tab; "Remember on this device" keeps it in the browser's
 * local storage too, and only then.
 */
import { useState } from "preact/hooks";
import { ApiRequestError, createApi } from "../api.js";

export interface SignInProps {
  /** Why the person is here again (a refused token, a sign-out), if anything. */
  notice: string | null;
  onSignedIn: (token: string, remember: boolean) => void;
}

export function SignIn({ notice, onSignedIn }: SignInProps) {
  const [token, setToken] = useState("");
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = token.trim();
    if (candidate === "") {
      setError("Enter the API token.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await createApi({ token: candidate, onUnauthorized: () => undefined }).listTasks({ limit: 1 });
      onSignedIn(candidate, remember);
    } catch (failure) {
      setError(
        failure instanceof ApiRequestError && failure.status === 401
          ? "The API did not accept this token."
          : `The API could not be asked: ${failure instanceof Error ? failure.message : String(failure)}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title" tabIndex={-1}>
        Sign in
      </h1>
      {notice && <p class="notice">{notice}</p>}
      <form onSubmit={submit} noValidate>
        <label for="api-token">API token</label>
        <input
          id="api-token"
          type="password"
          autoComplete="current-password"
          spellcheck={false}
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-invalid={error !== null}
          aria-describedby="api-token-help"
        />
        <p id="api-token-help" class="help">
          The deployment's token: <code>pulumi stack output serverAuthToken --show-secrets</code> (locally, <code>npm run dev:stub</code> prints it).
        </p>
        <label class="check">
          <input type="checkbox" checked={remember} onChange={(event) => setRemember(event.currentTarget.checked)} /> Remember on this device
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
