/**
 * How the person ran mine2hpc, so the commands printed back to them (next steps, fixes, help)
 * are ones they can paste: `mine2hpc …` when it is on PATH, `npx mine2hpc …` when it runs from a
 * project's node_modules (or through npx), `npm run mine2hpc -- …` when that is how it ran.
 * One place decides; every printed command goes through {@link selfCommand}.
 */
import { accessSync, constants, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Environment variable that names the command outright (a wrapper script, a container alias). */
export const COMMAND_ENV = "MINE2HPC_COMMAND";

/** What the decision looks at; every field is injectable so tests need no real npm or PATH. */
export interface InvocationFacts {
  env: NodeJS.ProcessEnv;
  /** This package's entry script (bin/mine2hpc.js), resolved. */
  binFile: string;
  /** Resolves a PATH entry's file to its real path; undefined when it does not exist or is not executable. */
  resolveExecutable?: (file: string) => string | undefined;
}

function realExecutable(file: string): string | undefined {
  try {
    accessSync(file, constants.X_OK);
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

/**
 * The first `mine2hpc` on PATH, resolved through symlinks (npm links bin entries), or undefined.
 * On Windows npm writes `mine2hpc.cmd` shims that cannot be resolved to the script; those count
 * as "not ours" and the answer is npx, which always runs the right one.
 */
function onPath(env: NodeJS.ProcessEnv, resolve: (f: string) => string | undefined): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const found = resolve(path.join(dir, "mine2hpc"));
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The command prefix to print: `npm run mine2hpc --` when run as the `mine2hpc` npm script
 * (npm sets `npm_lifecycle_event` to the script's name, docs.npmjs.com/cli/using-npm/scripts),
 * `npx mine2hpc` when run through npx (`npm exec` sets `npm_command=exec`; npx's own script event
 * is `npx`, npm/cli workspaces/libnpmexec/lib/run-script.js), `mine2hpc` when the first
 * `mine2hpc` on PATH is this very package (a global install or `npm link`), and otherwise
 * `npx mine2hpc`: a project's own node_modules/.bin is not on PATH, npx finds it there.
 */
export function invocationPrefix(facts: InvocationFacts): string {
  const { env } = facts;
  const forced = (env[COMMAND_ENV] ?? "").trim();
  if (forced !== "") return forced;
  if (env.npm_lifecycle_event === "mine2hpc") return "npm run mine2hpc --";
  if (env.npm_command === "exec" || env.npm_lifecycle_event === "npx") return "npx mine2hpc";
  const resolve = facts.resolveExecutable ?? realExecutable;
  const found = onPath(env, resolve);
  let own: string;
  try {
    own = realpathSync(facts.binFile);
  } catch {
    own = facts.binFile;
  }
  return found !== undefined && found === own ? "mine2hpc" : "npx mine2hpc";
}

/** This package's entry script. */
export const OWN_BIN = fileURLToPath(new URL("../../bin/mine2hpc.js", import.meta.url));

/** The prefix for this process. */
export function currentInvocation(env: NodeJS.ProcessEnv = process.env): string {
  return invocationPrefix({ env, binFile: OWN_BIN });
}

/** `ARGS` as the person would type it: `<prefix> ARGS`. */
export function selfCommand(ctx: { self?: string }, args: string): string {
  return `${ctx.self ?? "mine2hpc"} ${args}`;
}

/**
 * Rewrites the commands quoted in a message (`'mine2hpc …'` or `` `mine2hpc …` ``) to the
 * prefix the person used. Only quoted commands change: prose that names the tool stays.
 */
export function withSelf(text: string, self: string): string {
  if (self === "mine2hpc") return text;
  return text.replace(/(['`])mine2hpc (?=[a-z-])/g, (_m, q: string) => `${q}${self} `);
}
