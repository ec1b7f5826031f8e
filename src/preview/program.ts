/**
 * Runs the Pulumi program in this process under the recording mocks. Used by the offline
 * preview's child process and by the program tests; call it once per process (Pulumi's runtime
 * is a process-wide singleton).
 */
import { pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { setupMocks, type MockRecorder } from "./mocks.js";
import { PLACEHOLDER_SECRET_PREFIX, countByType, maskValue, toPreviewResources, type ChildRequest, type PreviewResult } from "./offline.js";

/** Loads the project's program under mocks with the request's config and returns the recorder and module. */
export async function loadProgramUnderMocks(request: ChildRequest): Promise<{ recorder: MockRecorder; program: Record<string, unknown> }> {
  const recorder = await setupMocks({
    project: request.project,
    stack: request.stack,
    config: request.config,
    secretKeys: request.secretKeys,
    shuffleResults: (name) => request.recorded?.[name],
  });
  // Pulumi runs the program in the project directory; the program resolves stack paths from there.
  process.chdir(request.repoRoot);
  const program = (await import(pathToFileURL(request.programFile).href)) as Record<string, unknown>;
  await recorder.settle();
  return { recorder, program };
}

/** Runs the program and returns the preview (secrets masked, placeholders checked absent). */
export async function runProgramUnderMocks(request: ChildRequest): Promise<PreviewResult> {
  const { recorder, program } = await loadProgramUnderMocks(request);
  const outputs: Record<string, unknown> = {};
  for (const key of Object.keys(program).sort()) {
    const value = program[key];
    if (!pulumi.Output.isInstance(value)) continue;
    const out = value as pulumi.Output<unknown>;
    outputs[key] = (await pulumi.isSecret(out)) ? "[secret]" : maskValue(await new Promise((r) => out.apply((v) => r(v))));
  }
  await recorder.settle();
  const resources = toPreviewResources(recorder.registrations);
  // What each record holds after this run: the recorded value, or its inputs for a new one (as the mocks answered).
  const records: Record<string, string[]> = {};
  for (const r of recorder.ofType("random:index/randomShuffle:RandomShuffle")) {
    const items = (r.inputs.inputs as string[] | undefined) ?? [];
    records[r.name] = request.recorded?.[r.name] ?? items.slice(0, Number(r.inputs.resultCount ?? items.length));
  }
  const result: PreviewResult = { stack: request.stack, siteFile: request.siteFile, resources, counts: countByType(resources), outputs, records };
  // Last line of defence: a placeholder secret in the result means some input escaped masking.
  if (JSON.stringify(result).includes(PLACEHOLDER_SECRET_PREFIX)) {
    throw new Error("offline preview would print a secret value; refusing (this is a bug in mine2hpc's masking)");
  }
  return result;
}
