#!/usr/bin/env bash
# Installs Debian's chromium for the auditor page's browser test (test/audit.browser.e2e.ts) if it is
# missing. Exit status: 0 when /usr/bin/chromium (or $CHROMIUM_PATH) is there afterwards, 1 otherwise.
# Idempotent: does nothing when the browser is already installed.
set -u
BIN="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$BIN" ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $BIN is missing and apt-get is not available" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "ensure-chromium: $BIN is missing and installing it needs root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Fonts so that pages (and the test screenshot) render readable text.
$SUDO apt-get update -qq >/dev/null 2>&1 || true
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1; then
  echo "ensure-chromium: apt-get install chromium failed" >&2
  exit 1
fi
[ -x "$BIN" ] || { echo "ensure-chromium: installed, but $BIN is not there" >&2; exit 1; }
