#!/usr/bin/env sh
# Debian's Chromium for the browser tests (Playwright drives it; browsers cannot be
# downloaded at run time). Never fails: without it, the browser tests skip and say why.
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
  echo "Chromium is missing and this user cannot install packages: the browser tests will skip"; exit 0; fi
echo "Installing Chromium (apt-get install chromium) for the browser tests..."
$SUDO apt-get install -y -q chromium >/dev/null 2>&1 \
  || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q chromium >/dev/null 2>&1; } \
  || echo "Chromium could not be installed: the browser tests will skip"
exit 0
