#!/usr/bin/env bash
# Compile the TypeScript (tsc: type-check and emit dist/ for bench and tools), then bundle the CLI
# into one CommonJS file, dist/supervisor/sandbox.bundle.cjs, that the entry dist/supervisor/main.cjs
# (supervisor/main.cts) runs with a V8 code cache written here. Why each step (what each saves is
# measured in docs/bench/2026-11-23-cli-start.md):
# - one bundle, not ~70 small ES modules: one file to read instead of a module graph to resolve;
# - CommonJS, not ESM: no ESM loader, and require('node:crypto') leaves crypto's lazy parts (webcrypto,
#   x509, keygen) unloaded where `import` builds a namespace of every export;
# - the code cache: V8 deserializes the compiled bundle instead of parsing and compiling it;
# - whitespace and syntax minified (names kept; sandbox.bundle.cjs.map maps it back to the
#   TypeScript): less to read and decode;
# - the view server's worker threads load their own bundle, dist/supervisor/view-worker.bundle.cjs
#   (procfs/view-worker.ts; a worker runs a file, not a part of the CLI's bundle), through the entry
#   dist/supervisor/view-worker.cjs (supervisor/view-worker.cts) with a code cache of its own;
# - the two entries bundled too, each with supervisor/code-cache.cts, the code they share.
# import.meta.url (the stage's path is relative to it) becomes the bundle's file URL, and
# dist/supervisor/main.js stays as a tiny ES module that requires main.cjs, for callers of the old
# entry (slower: the ESM loader).
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -p tsconfig.json
# A build id on the bundle's first line: main.cts uses a code cache only with the bundle it was made for.
build_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
node_modules/.bin/esbuild supervisor/main.ts --bundle --platform=node --format=cjs --target=node20 \
  --outfile=dist/supervisor/sandbox.bundle.cjs --allow-overwrite --log-level=warning \
  --minify-whitespace --minify-syntax --sourcemap \
  --define:import.meta.url=__sandboxMetaUrl --define:SANDBOX_VERSION="\"$(node -p "require('./package.json').version")\"" \
  --banner:js="// sandbox-build $build_id
const __sandboxMetaUrl = require('node:url').pathToFileURL(__filename).href;"
node_modules/.bin/esbuild procfs/view-worker.ts --bundle --platform=node --format=cjs --target=node20 \
  --outfile=dist/supervisor/view-worker.bundle.cjs --allow-overwrite --log-level=warning \
  --minify-whitespace --minify-syntax --sourcemap \
  --define:import.meta.url=__sandboxMetaUrl \
  --banner:js="// sandbox-build $build_id
const __sandboxMetaUrl = require('node:url').pathToFileURL(__filename).href;"
# The workers' cache is written by the first worker of this build that serves (supervisor/view-worker.cts).
rm -f dist/supervisor/view-worker.bundle.cjs.cache
# The two CommonJS entries share their code-cache reads and writes (supervisor/code-cache.cts):
# each is bundled with it over tsc's output, so an entry is still one file to load.
for entry in main view-worker; do
  node_modules/.bin/esbuild "supervisor/$entry.cts" --bundle --platform=node --format=cjs --target=node20 \
    --outfile="dist/supervisor/$entry.cjs" --allow-overwrite --log-level=warning --sourcemap
done
# main.cts runs the bundle through vm.Script, where import() fails (supervisor/esm-import.ts says
# why): esbuild turns import() of bundled code into require(), so one left in the bundle loads
# something external. Only importEsm's own may remain.
imports=$(grep -o '[^.A-Za-z0-9_$]import(' dist/supervisor/sandbox.bundle.cjs | wc -l)
if [ "$imports" != 1 ]; then
  echo "compile-ts: dist/supervisor/sandbox.bundle.cjs has $imports import() calls, expected 1 (importEsm); load ES modules through supervisor/esm-import.ts" >&2
  exit 1
fi
rm -f dist/supervisor/sandbox.bundle.cjs.cache
SANDBOX_BUILD_CODE_CACHE=1 node dist/supervisor/main.cjs --help >/dev/null
chmod +x dist/supervisor/main.cjs # the package's bin: `npx sandbox` executes it directly
cat > dist/supervisor/main.js <<'STUB'
#!/usr/bin/env node
// The former entry of the sandbox CLI: dist/supervisor/main.cjs starts sooner (no ESM loader).
import { createRequire } from 'node:module';
createRequire(import.meta.url)('./main.cjs');
STUB
chmod +x dist/supervisor/main.js
rm -f dist/supervisor/main.js.map # tsc's, of the program module the stub replaced
