/**
 * `generate-token`: 32 random bytes as 64 lowercase hex characters, the shape of
 * the deployed tokens (`random.RandomBytes` of 32 bytes, hex), URL-safe.
 */
import { randomBytes } from "node:crypto";
import type { CommandResult } from "../lib/result.js";

export const TOKEN_BYTES = 32;

export async function generateToken(): Promise<CommandResult> {
  const token = randomBytes(TOKEN_BYTES).toString("hex");
  return { output: { success: true, token, bits: TOKEN_BYTES * 8, encoding: "hex" }, ok: true };
}
