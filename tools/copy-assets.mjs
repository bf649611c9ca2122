// Copies the Lua scripts next to the compiled broker so `dist/` is self-contained.
import { cpSync } from "node:fs";

cpSync("src/broker/scripts", "dist/broker/scripts", { recursive: true });
