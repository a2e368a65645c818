#!/usr/bin/env bash
# npm run test:package — pack the tarball and try it as users get it (see consumers.mjs), then the
# bundle-size budget of a Worker that sends one message (bench/bundle-size.mjs --check).
# Everything comes from npm (npm ci): esbuild, miniflare, deno, bun, typescript, attw, publint.
set -euo pipefail
cd "$(dirname "$0")/../.."
node test/package/consumers.mjs "$@"
