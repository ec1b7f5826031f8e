import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Each test file runs in its own process: the Pulumi runtime (setMocks) is a process-wide singleton.
    pool: "forks",
    // Program tests under Pulumi mocks and CLI end-to-end tests start child processes; give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Commands printed back to the person say `mine2hpc …` in every test, whatever the tester's PATH
    // or npm holds (src/cli/invocation.ts; tests/cli-conventions.test.ts checks the detection itself).
    env: { MINE2HPC_COMMAND: "mine2hpc" },
  },
});
