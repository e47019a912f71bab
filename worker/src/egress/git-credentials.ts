/**
 * The git door's credential, resolved outside the container for each request:
 * a fine-grained token as configured, or a GitHub App installation token for
 * the one repository (minted on demand and kept in this isolate's memory until
 * five minutes before it expires). The grant a task gives its sandbox holds
 * only the repository and the branch it may push, never a token.
 *
 * Only a repository on the deployment's GitHub host (`Settings.githubHost`,
 * the host the configured GitHub API serves) gets the credential: a token of
 * one GitHub is never minted for, nor sent to, another's repository.
 */
import { type GitHubCredentials, repositoryToken } from "../repositories/github.js";
import type { WorkerSecrets } from "../secrets.js";
import { readSettings, type Settings, type SettingsSource } from "../settings.js";
import { forwardToGit, type GitGrant, gitRefusal } from "./git-door.js";

/** What a task grants its sandbox's git (`Sandbox.grantRepository`). */
export interface GitAccessGrant extends Omit<GitGrant, "token" | "ignorePathCase"> {
  /** Owner and name on the deployment's GitHub; null for another host (read anonymously). */
  github: { owner: string; repo: string } | null;
}

/** The deployment's GitHub credential, or null when it has none. */
export function githubCredentials(env: WorkerSecrets & SettingsSource): GitHubCredentials | null {
  let appId: string | null = null;
  try {
    appId = readSettings(env).githubAppId;
  } catch {
    appId = null;
  }
  if (appId !== null && env.GITHUB_APP_PRIVATE_KEY) return { kind: "app", appId, privateKey: env.GITHUB_APP_PRIVATE_KEY };
  if (env.GITHUB_TOKEN) return { kind: "token", token: env.GITHUB_TOKEN };
  return null;
}

/**
 * The owner and name of a repository that is on the deployment's GitHub now;
 * null otherwise (another host, or a task accepted before the deployment's
 * GitHub API changed).
 */
export function githubRepositoryOf(
  repository: { host: string; github: { owner: string; repo: string } | null },
  settings: Pick<Settings, "githubHost">,
): { owner: string; repo: string } | null {
  return repository.github !== null && repository.host === settings.githubHost ? repository.github : null;
}

const cache = new Map<string, { token: string; until: number }>();

/** A token for the grant's repository, or null when none is configured or the repository is not on the deployment's GitHub. */
async function tokenFor(grant: GitAccessGrant, credentials: GitHubCredentials | null, settings: Settings, now: number): Promise<string | null> {
  const repository = githubRepositoryOf(grant, settings);
  if (credentials === null || repository === null) return null;
  const access = grant.pushBranch === null ? "read" : "push";
  const key = `${settings.githubApiUrl} ${repository.owner}/${repository.repo}:${access}`;
  const cached = cache.get(key);
  if (cached && cached.until > now) return cached.token;
  const minted = await repositoryToken(credentials, repository, access, { apiUrl: settings.githubApiUrl });
  // A personal token has no known end: kept for ten minutes, then read from the binding again.
  const until = minted.expiresAt === null ? now + 600_000 : Date.parse(minted.expiresAt) - 300_000;
  cache.set(key, { token: minted.token, until });
  return minted.token;
}

/** The outbound handler behind `Sandbox.grantRepository`: the git door with the credential added outside. */
export async function gitDoorWithCredentials(
  request: Request,
  env: WorkerSecrets & SettingsSource,
  grant: GitAccessGrant,
): Promise<Response> {
  let token: string | null;
  try {
    token = await tokenFor(grant, githubCredentials(env), readSettings(env), Date.now());
  } catch {
    await request.body?.cancel();
    return gitRefusal("git_credential_unavailable", grant.host);
  }
  return forwardToGit(request, {
    host: grant.host,
    repositoryPath: grant.repositoryPath,
    pushBranch: grant.pushBranch,
    ignorePathCase: grant.github !== null,
    token,
  });
}
