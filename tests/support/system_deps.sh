#!/usr/bin/env bash
# What the tests need from the distribution: the page tests drive its Chromium and render the PDF's
# pages with pdftoppm; `make install` fetches the Data Docs' scripts and styles with npm.
# Installed with apt-get (as root) when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
