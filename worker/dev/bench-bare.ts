/**
 * The bare Worker of `npm run bench`: the smallest fetch handler that answers
 * like ours (it reads the body, answers a small JSON document), run in the
 * same local runtime, so the benchmark can tell what our Worker adds to a
 * request. Never deployed.
 */
const HEADERS = { "Content-Type": "application/json", "Cache-Control": "no-store" };

export default {
  fetch: async (request) => {
    if (request.body) await request.arrayBuffer();
    return new Response(JSON.stringify({ status: "healthy" }), { status: request.method === "POST" ? 202 : 200, headers: HEADERS });
  },
} satisfies ExportedHandler;
