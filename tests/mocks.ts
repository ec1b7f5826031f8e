/**
 * The shared Pulumi mocks of the test suite: the recorder of the offline preview
 * (src/preview/mocks.ts), so tests and `mine2hpc preview --offline` see the same registrations.
 */
export * from "../src/preview/mocks.js";
