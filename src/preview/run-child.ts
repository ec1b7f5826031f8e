/**
 * Child process of the offline preview: runs the Pulumi program once under mocks and prints
 * one JSON answer (`ChildResponse`) on stdout. Request in env `MINE2HPC_PREVIEW_REQUEST`.
 * Exit code 0 with a result, 2 with site problems, 1 on a crash.
 */
import { runProgramUnderMocks } from "./program.js";
import { SiteError } from "../site/problems.js";
import type { ChildRequest, ChildResponse } from "./offline.js";

const request = JSON.parse(process.env.MINE2HPC_PREVIEW_REQUEST ?? "null") as ChildRequest | null;
let response: ChildResponse;
let code = 0;
try {
  if (request === null) throw new Error("MINE2HPC_PREVIEW_REQUEST is not set");
  response = { ok: true, result: await runProgramUnderMocks(request) };
} catch (err) {
  if (err instanceof SiteError) {
    response = { ok: false, problems: [...err.problems] };
    code = 2;
  } else {
    response = { ok: false, error: (err as Error)?.stack ?? String(err) };
    code = 1;
  }
}
process.stdout.write(JSON.stringify(response), () => process.exit(code));
