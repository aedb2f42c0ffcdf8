#!/usr/bin/env bash
# Compile the TypeScript (tsc: type-check and emit dist/ for bench and tools), then bundle the CLI
# into one file over dist/supervisor/main.js: loading ~70 small ES modules cost ~30 ms of every
# `sandbox run` (measured here: `run` reached at 120 ms unbundled, 91 ms bundled). fuse-native stays
# external: a CommonJS package with a native addon, loaded on demand.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -p tsconfig.json
node_modules/.bin/esbuild supervisor/main.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile=dist/supervisor/main.js --allow-overwrite --external:fuse-native --log-level=warning \
  --banner:js="import { createRequire as __sandboxCreateRequire } from 'node:module'; const require = __sandboxCreateRequire(import.meta.url);"
chmod +x dist/supervisor/main.js # the package's bin: `npx sandbox` executes it directly
