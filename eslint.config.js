// Lint configuration: type-aware typescript-eslint rules over the whole repository.
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "scratch/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ["*.js", "*.mjs", "tools/*.mjs"],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      eqeqeq: ["error", "smart"],
    },
  },
  {
    // No import cycles in the library. import-x/no-cycle follows the imports that exist at run time
    // (`import type` is erased, and not followed). Imports are written `./x.js` and resolved to the
    // `.ts` source, as TypeScript does.
    files: ["src/**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [
        createNodeResolver({ extensions: [".ts", ".js"], extensionAlias: { ".js": [".ts", ".js"] } }),
      ],
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      // The doctor is a layer on top of the library (the asynq-ts/doctor entry): nothing below it,
      // and not the main entry, may load it (the command line, src/cli, is a layer above both).
      // Nothing of the library may load the command line. The web dashboard (src/dashboard, the
      // asynq-ts/dashboard entry) is a layer above the library and the doctor; only the CLI loads it.
      "import-x/no-restricted-paths": [
        "error",
        {
          zones: [
            { target: ["./src/*.ts", "./src/!(doctor|cli|dashboard)/**/*.ts"], from: "./src/doctor" },
            { target: ["./src/*.ts", "./src/!(cli)/**/*.ts"], from: "./src/cli" },
            { target: ["./src/*.ts", "./src/!(cli|dashboard)/**/*.ts"], from: "./src/dashboard" },
          ],
        },
      ],
    },
  },
  {
    // The doctor reaches Redis only through its port: the DoctorBroker type and the factory that
    // opens it (src/broker/doctor/port.ts, open.ts); no other broker module and no ioredis.
    files: ["src/doctor/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "ioredis", message: "The doctor talks to Redis through DoctorBroker only." }],
          patterns: [
            {
              regex: "^\\.\\./broker/(?!doctor/(port|open)\\.js$)",
              message: "The doctor may import only broker/doctor/port.js (types) and broker/doctor/open.js.",
            },
          ],
        },
      ],
    },
  },
  {
    // The command line uses the library through its public entries only (tools/tsup.cli.config.ts
    // makes them require("./index.cjs") and require("./doctor.cjs")); ioredis for types only.
    files: ["src/cli/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "ioredis",
              allowTypeImports: true,
              message: "The CLI talks to Redis through the Inspector.",
            },
          ],
          patterns: [
            {
              regex: "^\\.\\./(?!(index|doctor/index|dashboard/index)\\.js$)",
              message:
                "src/cli may import the library only through ../index.js, ../doctor/index.js and ../dashboard/index.js.",
            },
          ],
        },
      ],
    },
  },
  {
    // The web dashboard uses the library through its public entries only (tools/tsup.dashboard.config.ts
    // makes them require("./index.cjs") and require("./doctor.cjs")); no ioredis.
    files: ["src/dashboard/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "ioredis",
              allowTypeImports: true,
              message: "The dashboard talks to Redis through the Inspector.",
            },
          ],
          patterns: [
            {
              regex: "^\\.\\./(?!(index|doctor/index)\\.js$)",
              message:
                "src/dashboard may import the library only through ../index.js and ../doctor/index.js.",
            },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's tests read the API's JSON answers (typed `any` by test/dashboard/support.ts)
    // field by field, as the expectations check them.
    files: ["test/dashboard/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // The dashboard's page: plain ES modules run by the browser.
    files: ["src/dashboard/assets/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: Object.fromEntries(
        [
          "document",
          "window",
          "location",
          "fetch",
          "Node",
          "URLSearchParams",
          "setTimeout",
          "clearTimeout",
        ].map((name) => [name, "readonly"]),
      ),
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
