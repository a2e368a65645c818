#!/usr/bin/env bash
# npm run test:package — pack the tarball and try it as users get it (see consumers.mjs).
# Tools come from npm ci (esbuild, miniflare, deno, bun, typescript 5.9, attw, publint), except
# TypeScript 4.9.5, the oldest version docs/installing.md states: it cannot be a devDependency
# next to 5.9 (both install a `tsc` bin), so it is installed here, from npm, into a temp prefix.
set -euo pipefail
cd "$(dirname "$0")/../.."
old_ts="$(mktemp -d)"
trap 'rm -rf "$old_ts"' EXIT
npm install --prefix "$old_ts" --no-save --no-audit --no-fund --no-package-lock -s typescript@4.9.5 >/dev/null
SMTPWIRE_OLD_TS="$old_ts/node_modules/typescript" node test/package/consumers.mjs "$@"
