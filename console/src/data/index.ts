/** The console's data layer: plain functions over SDK v3 clients, used by the pages and tested in node. */
export * from "./clients.js";
export * from "./key-names.js";
export * from "./key-usage.js";
export * from "./key-dependencies.js";
export * from "./event-history.js";
