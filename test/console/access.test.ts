/**
 * The web console behind Cloudflare Access, in a real browser: a dev:stub
 * whose Access team is a local server publishing a key set made here, and a
 * browser that sends the `Cf-Access-Jwt-Assertion` Access would add. The
 * console works without asking for the API token, and a task submitted from
 * it records who submitted it; without a valid assertion the console asks for
 * the token.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../../scripts/browser.js";
import { type LaunchedStub, launchDevStub, waitUntilReady } from "../fixtures/dev-stub.js";

const AUDIENCE = "5f0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
const EMAIL = "grace@example.com";

let team: Server;
let issuer: string;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

let teamKey: PrivateKey;
let strangerKey: PrivateKey;
let stub: LaunchedStub;
let browser: Browser;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  teamKey = pair.privateKey;
  strangerKey = (await generateKeyPair("RS256")).privateKey;
  const keys = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "team-1", alg: "RS256", use: "sig" }] });
  team = createServer((request, response) => {
    if (request.url === "/cdn-cgi/access/certs") response.writeHead(200, { "content-type": "application/json" }).end(keys);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => team.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(team.address() as AddressInfo).port}`;
  stub = await launchDevStub({ ACCESS_TEAM_DOMAIN: issuer, ACCESS_AUDIENCE: AUDIENCE });
  [browser] = await Promise.all([launchBrowser(), waitUntilReady(stub)]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stub?.stop();
  await new Promise((resolve) => team?.close(resolve));
});

/** The assertion Access would add for this person (or one signed by a key the team does not have). */
function assertion(key: PrivateKey = teamKey): Promise<string> {
  return new SignJWT({ email: EMAIL, type: "app" })
    .setProtectedHeader({ alg: "RS256", kid: "team-1" })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key);
}

/** A page whose every request carries `headers`, as requests through Access do. */
async function pageWith(headers: Record<string, string>): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, extraHTTPHeaders: headers });
  context.setDefaultTimeout(20_000);
  return context.newPage();
}

describe("the console behind Cloudflare Access", () => {
  it("opens without the API token, and a task run from it records who submitted it", async () => {
    const page = await pageWith({ "cf-access-jwt-assertion": await assertion() });
    await page.goto(`${stub.url}/console/`);
    await page.getByRole("heading", { level: 1, name: "Tasks" }).waitFor();
    expect(await page.getByLabel("API token").count()).toBe(0);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New task" }).click();
    const title = `Through Access, run ${Date.now().toString(36)}`;
    await page.getByLabel("Task", { exact: true }).fill(`${title}\n@stub delay=0`);
    await page.getByRole("button", { name: "Run task" }).click();
    await page.getByText("succeeded", { exact: true }).waitFor();
    await page.getByText(EMAIL, { exact: true }).waitFor();

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).click();
    const row = page.getByRole("table", { name: "Tasks" }).getByRole("row").filter({ has: page.getByRole("link", { name: title, exact: true }) });
    await row.getByText(`by ${EMAIL}`).waitFor();
  });

  it.each([
    ["without an assertion", async () => ({})],
    ["with an assertion signed by a key the team does not have", async () => ({ "cf-access-jwt-assertion": await assertion(strangerKey) })],
  ])("asks for the API token %s", async (_name, headers) => {
    const page = await pageWith(await headers());
    await page.goto(`${stub.url}/console/`);
    await page.getByLabel("API token").waitFor();
    expect(await page.getByRole("heading", { level: 1, name: "Tasks" }).count()).toBe(0);
  });
});
