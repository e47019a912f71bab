/**
 * What a part of the benchmark is: a name, and a measurement that returns
 * rows of the table. scripts/bench.ts runs its parts one after another, in
 * the order it lists them; a part that throws is reported and the others
 * still run. The local Workers start once, when the first part asks for them.
 */
import type { DevServer } from "./dev-server.js";
import type { Figure } from "./figures.js";

/** The local Workers under `wrangler dev` (workers.ts): ours as dev:stub runs it, ours metered, and the bare Worker. */
export interface BenchWorkers {
  stub: DevServer;
  metered: DevServer;
  bare: DevServer;
}

/** What a part is given. */
export interface BenchContext {
  /** The local Workers, started on the first call (a part that needs none never pays for them). */
  workers(): Promise<BenchWorkers>;
  /** Writes a line of progress on stderr. */
  progress(message: string): void;
}

/** What a part found besides its rows. */
export interface PartOutcome {
  figures: Figure[];
  /** Measurements that could not be made or were wrong: the run fails. */
  problems?: string[];
  /** What makes the figures less telling, such as a busy machine: said, the run still passes. */
  warnings?: string[];
}

/** One part of the benchmark. */
export interface BenchPart {
  /** Shown in the progress and in a failure. */
  name: string;
  measure(context: BenchContext): Promise<Figure[] | PartOutcome>;
}
