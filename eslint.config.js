// Lint rules are enforced by `npm test` (see package.json "lint").
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Modules only src/platform may import (issue 15: the Clock, Storage and Transport seams).
const TIME_AND_FILES = [
  "node:fs",
  "node:fs/promises",
  "fs",
  "fs/promises",
  "node:perf_hooks",
  "node:timers",
  "node:timers/promises",
  "node-cron",
].map((name) => ({ name, message: "use the injected Clock (time) or Storage (storage): src/platform" }));
const NETWORK = [
  "node:http",
  "node:https",
  "node:net",
  "node:tls",
  "node:dgram",
  "http",
  "https",
  "net",
  "tls",
].map((name) => ({ name, message: "use the injected Transport: src/platform/transport.ts" }));

// Random draws only through the injected Random (src/platform/random.ts), so a seed replays them;
// hashes, HMACs and timingSafeEqual stay allowed.
const RANDOMNESS = ["node:crypto", "crypto"].map((name) => ({
  name,
  importNames: [
    "randomBytes",
    "randomUUID",
    "randomInt",
    "randomFill",
    "randomFillSync",
    "getRandomValues",
    "webcrypto",
  ],
  message: "use the injected Random (random): src/platform/random.ts",
}));

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".cache/", "native/build/", "test/vm/work/", "ansible/**/*.py"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it/test return promises the runner itself tracks.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always"],
      "no-console": "off",
    },
  },
  {
    // The seams (issue 15, src/platform/clock.ts and storage/types.ts): outside
    // src/platform, time and files are reached only through the injected
    // Clock and Storage, so the simulator can replace them. Directories join
    // this list as they are converted.
    files: [
      "src/cluster/**/*.ts",
      "src/log/**/*.ts",
      "src/daemon/**/*.ts",
      "src/rpc/**/*.ts",
      "src/metrics/**/*.ts",
      "src/frontend/**/*.ts",
      "src/util/**/*.ts",
      "src/peer/**/*.ts",
      "src/replication/**/*.ts",
      "src/resource/**/*.ts",
    ],
    rules: {
      "no-restricted-imports": ["error", { paths: [...TIME_AND_FILES, ...RANDOMNESS] }],
      "no-restricted-globals": [
        "error",
        ...[
          "setTimeout",
          "setInterval",
          "setImmediate",
          "clearTimeout",
          "clearInterval",
          "clearImmediate",
          "performance",
        ].map((name) => ({ name, message: "use the injected Clock (time): src/platform/clock.ts" })),
        { name: "crypto", message: "use the injected Random (random): src/platform/random.ts" },
      ],
      "no-restricted-properties": [
        "error",
        {
          object: "Date",
          property: "now",
          message: "use time.nowMs() (or time.monotonicMs() for durations)",
        },
        { object: "AbortSignal", property: "timeout", message: "use time.timeoutSignal()" },
        { object: "Math", property: "random", message: "use the injected Random (random.float())" },
      ],
    },
  },
  {
    // The network too, where nothing reaches for it any more (the admin
    // listener, rpc/admin-app.ts and the NBD server still do).
    files: [
      "src/cluster/**/*.ts",
      "src/log/**/*.ts",
      "src/peer/**/*.ts",
      "src/replication/**/*.ts",
      "src/resource/**/*.ts",
    ],
    rules: { "no-restricted-imports": ["error", { paths: [...TIME_AND_FILES, ...NETWORK, ...RANDOMNESS] }] },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
