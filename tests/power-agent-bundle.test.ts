/**
 * The committed runtime bundle is exactly what `npm run bundle` builds from src/runtime/ (so
 * the cluster never runs stale code), fits a ConfigMap with room to spare, and imports nothing
 * but Node built-ins.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BUNDLE_MAX_BYTES, BUNDLE_PATH, buildRuntimeBundle } from "../scripts/bundle-runtime.js";
import { main } from "../src/cli/main.js";

describe("runtime bundle", () => {
  it("is byte-identical to a fresh build (run 'npm run bundle' after changing src/runtime/)", async () => {
    const committed = readFileSync(BUNDLE_PATH, "utf8");
    const fresh = await buildRuntimeBundle();
    expect(committed === fresh, "bundle/runtime.mjs is stale: run 'npm run bundle' and commit it").toBe(true);
    expect(Buffer.byteLength(committed)).toBeLessThan(BUNDLE_MAX_BYTES);
  });

  it("imports only node: built-ins", () => {
    const text = readFileSync(BUNDLE_PATH, "utf8");
    const specifiers = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s.startsWith("node:"))).toEqual([]);
  });
});

describe("mine2hpc power-agent", () => {
  it("is a CLI command with the runtime's flags", async () => {
    let out = "";
    const code = await main(["power-agent", "--help"], { stdout: { write: (s: string) => ((out += s), true) } as never });
    expect(code).toBe(0);
    for (const flag of ["--node NAME", "--kube-api URL", "--token-file FILE", "--ca-file FILE", "--nvidia-smi CMD", "--interval S", "--once", "--dry-run", "--metrics-port N", "--safe-cap-file FILE"]) {
      expect(out).toContain(flag);
    }
  });

  it("refuses a missing --node with the fix", async () => {
    let err = "";
    const code = await main(["power-agent", "--kube-api", "http://127.0.0.1:1"], { stderr: { write: (s: string) => ((err += s), true) } as never });
    expect(code).toBe(64);
    expect(err).toBe("error: --node is required.\n  fix: pass the node's name, e.g. --node gpu-01 (the DaemonSet passes --node $(NODE_NAME)).\n");
  });
});
