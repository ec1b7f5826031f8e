/**
 * The site model's public surface: import from `../site/index.js` rather than from the
 * individual files, so the files can be reorganised without touching every caller.
 */
export * from "./schema.js";
export * from "./problems.js";
export * from "./catalog.js";
export * from "./net.js";
export * from "./inventory.js";
export * from "./load.js";
export * from "./validate.js";
export * from "./stack.js";
export * from "./partitions.js";
export { siteJsonSchema, SITE_SCHEMA_PATH } from "./emit-schema.js";
