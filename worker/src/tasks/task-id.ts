/**
 * Task ids: UUIDv7 (RFC 9562), so ids sort by creation time (the task index
 * lists newest first by id). 48 bits of Unix milliseconds, the version, 12
 * bits that count up within one millisecond (so ids made in the same
 * millisecond still sort in order), the variant, and 62 random bits.
 */

let lastMs = -1;
let counter = 0;

/** A new UUIDv7; `now` and `random` are for tests. */
export function newTaskId(now: number = Date.now(), random: Uint8Array = crypto.getRandomValues(new Uint8Array(16))): string {
  let ms = Math.max(now, lastMs);
  if (ms === lastMs) {
    counter++;
    if (counter > 0xfff) {
      // 4096 ids in one millisecond: borrow the next one.
      ms++;
      counter = 0;
    }
  } else {
    counter = random[6]! & 0x07;
  }
  lastMs = ms;
  const bytes = new Uint8Array(16);
  for (let index = 0; index < 6; index++) bytes[index] = Math.floor(ms / 2 ** (8 * (5 - index))) & 0xff;
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (random[8]! & 0x3f);
  bytes.set(random.subarray(9, 16), 9);
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
