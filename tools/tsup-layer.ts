// The build of a layer on top of the library (the command line, the dashboard, metrics, OpenTelemetry),
// shared by tools/tsup.cli.config.ts, tsup.dashboard.config.ts and tsup.observability.config.ts: one
// CommonJS bundle per layer, never an entry of tools/tsup.config.ts (splitting would move code the
// layer shares with the main entry into new chunks, and the main entry must load none of a layer's).
//
// A layer uses the library through public entries only: its imports of `../index.js` (and of the
// other entries it is allowed) become `require("./index.cjs")` etc., the very bundles an app loads,
// so there is one copy of every class and `instanceof` holds. Any other import of the library would
// bundle a second copy: the build refuses it.
import type { Options } from "tsup";

/** Every public entry a layer may import, and the bundle that provides it at run time. */
const PUBLIC_ENTRIES: Readonly<Record<string, string>> = {
  "../index.js": "./index.cjs",
  "../doctor/index.js": "./doctor.cjs",
  "../dashboard/index.js": "./dashboard.cjs",
  "../metrics/index.js": "./metrics.cjs",
};

/** One layer's build. */
export interface LayerBuild {
  /** The bundle's name and its source, e.g. `{ cli: "src/cli/main.ts" }`. */
  entry: Record<string, string>;
  /** The layer's folder under src/ (its imports are checked from there). */
  folder: string;
  /** The public entries it may import (keys of PUBLIC_ENTRIES). */
  allowed: ReadonlyArray<keyof typeof PUBLIC_ENTRIES>;
  /** Types (.d.cts) for an importable entry; none for the command line. */
  dts: boolean;
  /** Packages left to `require` (besides dependencies, which tsup keeps external). */
  external?: string[];
}

/** The tsup options of a layer. */
export function layerBuild(layer: LayerBuild): Options {
  const fromLayer = (dir: string): boolean => new RegExp(`[\\\\/]src[\\\\/]${layer.folder}$`).test(dir);
  return {
    entry: layer.entry,
    outDir: "dist",
    format: ["cjs"],
    platform: "node",
    target: "node20",
    tsconfig: "tsconfig.build.json",
    dts: layer.dts,
    shims: true,
    keepNames: false,
    removeNodeProtocol: false,
    splitting: false,
    sourcemap: false,
    clean: false,
    external: layer.external ?? [],
    esbuildPlugins: [
      {
        name: "public-entries",
        setup(build) {
          build.onResolve({ filter: /^\.\.\// }, (args) => {
            if (!fromLayer(args.resolveDir)) return undefined;
            if (layer.allowed.includes(args.path)) return { path: PUBLIC_ENTRIES[args.path], external: true };
            return {
              errors: [
                {
                  text: `src/${layer.folder} may import the library only through ${layer.allowed.join(", ")}, not ${args.path}`,
                },
              ],
            };
          });
        },
      },
    ],
  };
}
