/**
 * How the egress doors (anthropic-door.ts for the Anthropic API, git-door.ts for
 * the task's repository) answer a request they refuse: the rule's status and
 * fixed message as JSON `{error, code}`, never forwarded, and one log line
 * that names the host and the rule, never a header or the body.
 */

/** A door's refusals: each rule's status and fixed message. */
export type RefusalTable<Code extends string> = Readonly<Record<Code, { readonly status: number; readonly message: string }>>;

/** A request a door's rules refused: the code of the rule that fired. */
export interface Refused<Code extends string> {
  refused: Code;
}

/** Answers a request refused by rule `code` of `refusals`, and logs it. */
export function refusalResponse<Code extends string>(refusals: RefusalTable<Code>, code: Code, host: string): Response {
  const { status, message } = refusals[code];
  console.log(JSON.stringify({ level: "warn", event: "egress_refused", host, rule: code, status }));
  return Response.json({ error: message, code }, { status, headers: { "cache-control": "no-store" } });
}
