/**
 * The `worker-exports` check: worker/src/index.ts exports every Durable Object
 * class of the contract, ContainerProxy and a default handler, as esbuild
 * reads the module (not by a pattern).
 */
import { build } from "esbuild";
import { join } from "node:path";
import { type ConfigCheck, type ContractModule, errorText, fail, finish, type Loaded, type Problem, readText } from "./checkout.js";

const WORKER_ENTRY = "worker/src/index.ts";

/** The `worker-exports` check. */
export async function checkWorkerExports(dir: string, contract: Loaded<ContractModule>): Promise<ConfigCheck> {
  const name = "worker-exports";
  if (readText(dir, WORKER_ENTRY) === null) return fail(name, `${WORKER_ENTRY} not found`, `Restore it: \`git checkout -- ${WORKER_ENTRY}\``);
  let exports: string[];
  try {
    const result = await build({
      entryPoints: [join(dir, WORKER_ENTRY)],
      absWorkingDir: dir,
      bundle: false,
      write: false,
      metafile: true,
      format: "esm",
      logLevel: "silent",
    });
    exports = Object.values(result.metafile.outputs).flatMap((output) => output.exports);
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number } | null }[] }).errors?.[0];
    const detail = first ? `${first.text}${first.location ? ` (line ${first.location.line})` : ""}` : errorText(error);
    return fail(name, `${WORKER_ENTRY} does not compile: ${detail}`, `Fix ${WORKER_ENTRY} (npm run typecheck shows the details)`);
  }
  // Without a readable contract, the classes of the Worker as it was first released.
  const classes = contract.module ? [...new Set(Object.values(contract.module.DURABLE_OBJECT_BINDINGS))] : ["Sandbox"];
  const required: [string, string, string][] = [
    ...classes.map((className): [string, string, string] => [className, `the Durable Object class ${className}`, `export { ${className} } from "./<its module>.js";`]),
    ["ContainerProxy", "ContainerProxy, which carries the container's outbound traffic", 'export { ContainerProxy } from "@cloudflare/sandbox";'],
    ["default", "a default export (the fetch handler)", "export default { fetch: … }"],
  ];
  const problems: Problem[] = required
    .filter(([exported]) => !exports.includes(exported))
    .map(([, what, code]) => ({ message: `${WORKER_ENTRY} does not export ${what}`, hint: `Add \`${code}\` to ${WORKER_ENTRY}` }));
  return finish(name, problems, `${WORKER_ENTRY} exports ${classes.join(", ")}, ContainerProxy and a default handler`, { exports: [...exports].sort() });
}
