// Helpers for users' tests: a clock they can move.
export { ManualClock } from "../internal/clock.js";
