#!/usr/bin/env bash
# Drives the dashboard in a real browser: Debian's Chromium (installed here when missing) and playwright-core from
# npm (pinned in package-lock.json), against a release build. Screenshots land in tests/ui/artifacts/.
# Usage: tests/ui/run.sh   (from anywhere; as root, or with chromium already installed)
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
/usr/bin/chromium --version
# playwright-core downloads no browser of its own; it drives /usr/bin/chromium.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

(cd ../.. && cargo build --release --quiet)
target=${CARGO_TARGET_DIR:-$(cd ../.. && pwd)/target}
EMULATOR_BIN=${EMULATOR_BIN:-$target/release/cloudpc-emulator} node --test --test-reporter=spec dashboard.test.mjs
