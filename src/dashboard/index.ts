// The public API of asynq-ts/dashboard: a web dashboard over the Inspector, as a plain Node
// `(req, res)` handler. Loaded only from this entry: `import "asynq-ts"` never loads it.
export { createDashboard } from "./handler.js";
export type { DashboardHandler } from "./handler.js";
export type { DashboardOptions, DashboardInspector, AuthHook } from "./options.js";
export { CONTENT_SECURITY_POLICY } from "./security.js";
