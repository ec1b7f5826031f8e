/** A Writable that keeps what a command writes, for the report tests' stdout and stderr. */
import { Writable } from "node:stream";

/** A Writable whose `text()` is everything written to it so far. */
export function sink(): Writable & { text(): string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return Object.assign(w, { text: () => chunks.join("") });
}
