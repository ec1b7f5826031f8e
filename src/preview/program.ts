/**
 * Runs the Pulumi program in this process under the recording mocks. Used by the offline
 * preview's child process and by the program tests; call it once per process (Pulumi's runtime
 * is a process-wide singleton).
 */
import { pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { resolve } from "node:path";
import { MOCK_CA_HASH, MOCK_KUBECONFIG, setupMocks, type MockRecorder, type MockSetup } from "./mocks.js";
import { PLACEHOLDER_SECRET_PREFIX, countByType, maskValue, toPreviewResources, type ChildRequest, type PreviewResult } from "./offline.js";

/** Loads the project's program under mocks with the request's config and returns the recorder and module. */
export async function loadProgramUnderMocks(request: ChildRequest): Promise<{ recorder: MockRecorder; program: Record<string, unknown> }> {
  const stackReferences: NonNullable<MockSetup["stackReferences"]> = {};
  const recorder = await setupMocks({
    project: request.project,
    stack: request.stack,
    config: request.config,
    secretKeys: request.secretKeys,
    shuffleResults: (name) => request.recorded?.[name],
    stackReferences,
  });
  // Pulumi runs the program in the project directory; the program resolves stack paths from there.
  process.chdir(request.repoRoot);
  Object.assign(stackReferences, await clusterReferenceFor(request));
  const mod = (await import(pathToFileURL(request.programFile).href)) as Record<string, unknown>;
  // A default export is the stack's outputs (as Pulumi reads it); else the named exports are.
  const program = Object.keys(mod).length === 1 && typeof mod.default === "object" && mod.default !== null ? (mod.default as Record<string, unknown>) : mod;
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

/**
 * For a partition stack, what its StackReference reads from the cluster stack, as that stack
 * would export it for this site (`clusterJoin` for the same site and API endpoint, the
 * kubeconfig), with a placeholder agent token that the preview refuses to print. Nothing for
 * any other stack.
 */
async function clusterReferenceFor(request: ChildRequest): Promise<NonNullable<MockSetup["stackReferences"]>> {
  const clusterStack = request.config["mine2hpc:clusterStack"];
  if (request.config["mine2hpc:partition"] === undefined || clusterStack === undefined) return {};
  const [{ clusterStackName }, { loadAndValidate }, { planFarm }, { rewriteKubeconfigServer }] = await Promise.all([
    import("../program.js"),
    import("../site/load.js"),
    import("../plan/index.js"),
    import("../render/index.js"),
  ]);
  const inventory = request.config["mine2hpc:inventory"];
  const site = loadAndValidate(resolve(request.repoRoot, request.siteFile), inventory ? { inventory: resolve(request.repoRoot, inventory), inventoryRoot: request.repoRoot } : {});
  const plan = planFarm(site.spec);
  return {
    [clusterStackName(clusterStack)]: {
      outputs: {
        kubeconfig: rewriteKubeconfigServer(MOCK_KUBECONFIG, plan.kubernetes.apiEndpoint),
        clusterJoin: { site: plan.site.name, apiEndpoint: plan.kubernetes.apiEndpoint, caHash: MOCK_CA_HASH, agentToken: `${PLACEHOLDER_SECRET_PREFIX}-clusterJoin` },
      },
      secretOutputNames: ["clusterJoin", "kubeconfig"],
    },
  };
}
