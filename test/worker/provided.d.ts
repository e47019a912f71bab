/** Values the global setups provide to the Worker tests (`inject`). */
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the local webhook receiver (test/fixtures/webhook-sink.ts). */
    webhookSink: string;
  }
}

