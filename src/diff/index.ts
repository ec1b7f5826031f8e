/** Site diffs: compare two previews and plans (pure), and format the result for people. */
export * from "./compare.js";
export * from "./format.js";
