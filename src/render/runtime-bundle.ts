/**
 * The bundled runtime (bundle/runtime.mjs, built by `npm run bundle` from src/runtime/ and
 * committed): what the in-cluster programs run, shipped as a ConfigMap and started with
 * `node /opt/mine2hpc/runtime.mjs <command>` on the pinned stock Node image
 * ({@link IMAGES}.runtime). No image to build, and the code in the cluster is the code tested.
 *
 * The ConfigMap's content changes only with the bundle; its sha256 goes into the pod template
 * as an annotation, so a new bundle rolls the pods (a ConfigMap change alone restarts nothing).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { objectMeta, type K8sObject } from "./objects.js";

/** Key of the bundle in its ConfigMap, and the file name in the pod. */
export const RUNTIME_FILE = "runtime.mjs";

/** Where pods mount the bundle's ConfigMap. */
export const RUNTIME_MOUNT_PATH = "/opt/mine2hpc";

/** Pod template annotation holding the bundle's sha256 (rolls pods when the bundle changes). */
export const RUNTIME_SHA_ANNOTATION = "mine2hpc.io/runtime-sha256";

/** The committed bundle: text, sha256 (hex) and size. Read once; the same bytes every render. */
export const RUNTIME_BUNDLE: Readonly<{ text: string; sha256: string; bytes: number }> = (() => {
  const text = readFileSync(new URL("../../bundle/runtime.mjs", import.meta.url), "utf8");
  return Object.freeze({ text, sha256: createHash("sha256").update(text).digest("hex"), bytes: Buffer.byteLength(text) });
})();

/** A ConfigMap holding the bundle under {@link RUNTIME_FILE}. */
export function runtimeConfigMap(name: string, namespace: string, labels: Record<string, string>): K8sObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: objectMeta(name, { namespace, labels, annotations: { [RUNTIME_SHA_ANNOTATION]: RUNTIME_BUNDLE.sha256 } }),
    data: { [RUNTIME_FILE]: RUNTIME_BUNDLE.text },
  };
}

/** The command that runs a runtime command from the mounted bundle. */
export function runtimeCommand(command: string): string[] {
  return ["node", `${RUNTIME_MOUNT_PATH}/${RUNTIME_FILE}`, command];
}
