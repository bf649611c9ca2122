// The page and its assets: one HTML shell (no inline script or style) and the ES modules and CSS of
// src/dashboard/assets/ (dist/assets/ in the package: tools/finish-build.mjs copies them), plus
// Chart.js's standalone build, read once and served from memory. Nothing is fetched from elsewhere.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Chart.js's standalone build: in dist/assets/ of the package (tools/finish-build.mjs copies it). */
export const CHART_ASSET = "chart.umd.min.js";

/** One file served as it is. */
export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Every asset by file name (no sub-folders), read from the folder beside the bundle. */
export function loadAssets(): Map<string, Asset> {
  // From src/dashboard/static.ts: src/dashboard/assets/; from dist/dashboard.cjs: dist/assets/.
  const dir = fileURLToPath(new URL("./assets/", import.meta.url));
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const ext = /\.[a-z]+$/.exec(name)?.[0] ?? "";
    const type = TYPES[ext];
    if (type === undefined) continue;
    assets.set(name, { type, body: readFileSync(`${dir}${name}`) });
  }
  if (!assets.has(CHART_ASSET)) {
    // From the source tree (tests, development): Chart.js from node_modules (a devDependency).
    // Without it the page shows the history as text.
    try {
      const main = createRequire(import.meta.url).resolve("chart.js");
      assets.set(CHART_ASSET, { type: TYPES[".js"]!, body: readFileSync(join(dirname(main), CHART_ASSET)) });
    } catch {
      // not installed
    }
  }
  return assets;
}

function escapeAttribute(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** The HTML shell: the page's settings are data attributes, read by app.js. */
export function indexHtml(basePath: string, pollIntervalMs: number): string {
  const base = escapeAttribute(basePath);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>asynq-ts dashboard</title>
<link rel="stylesheet" href="${base}/assets/app.css">
<script defer src="${base}/assets/${CHART_ASSET}"></script>
<script type="module" src="${base}/assets/app.js"></script>
</head>
<body data-base="${base}" data-poll="${pollIntervalMs}">
<header><a href="#/" class="brand">asynq-ts</a><nav><a href="#/">Queues</a><a href="#/servers">Servers</a><a href="#/scheduler">Scheduler</a><a href="#/redis">Redis</a><a href="#/doctor">Doctor</a></nav><span id="mode"></span></header>
<main id="view"><p>Loading…</p></main>
</body>
</html>
`;
}
