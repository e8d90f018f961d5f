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
].map((name) => ({
  name,
  message:
    "use the injected Transport (src/platform/transport.ts) or a platform listener (http-listener.ts, socket-listener.ts)",
}));

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
  {
    ignores: [
      "dist/",
      "dist[0-9]/",
      "node_modules/",
      ".cache/",
      "native/build/",
      "test/vm/work/",
      "ansible/**/*.py",
    ],
  },
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
    // The seams (issue 15, src/platform/clock.ts, storage/types.ts,
    // transport.ts, random.ts): outside src/platform, time, files, the
    // network and random draws are reached only through the injected Clock,
    // Storage, Transport and Random (or the platform's listeners), so the
    // simulator can replace them and a seed replays a run.
    files: ["src/**/*.ts"],
    ignores: ["src/platform/**"],
    rules: {
      "no-restricted-imports": ["error", { paths: [...TIME_AND_FILES, ...NETWORK, ...RANDOMNESS] }],
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
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
