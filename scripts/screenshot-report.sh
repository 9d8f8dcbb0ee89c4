#!/usr/bin/env bash
# Screenshot of a perase report page with Debian's headless Chromium (apt-get install chromium).
#
#   scripts/screenshot-report.sh out/demo/report/report.html out/demo/report.png
#
# The page is static (inline CSS, no script, pictures beside it), so Chromium needs no network.
# Environment: CHROMIUM (default: chromium, else chromium-browser), WINDOW_SIZE (default 1400,3000).
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 REPORT.html OUT.png" >&2
  exit 2
fi
html=$1
out=$2
if [ ! -f "$html" ]; then
  echo "error: no report page at $html" >&2
  exit 2
fi

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
  for candidate in chromium chromium-browser; do
    if command -v "$candidate" >/dev/null 2>&1; then
      browser=$candidate
      break
    fi
  done
fi
if [ -z "$browser" ] || ! command -v "$browser" >/dev/null 2>&1; then
  echo "error: Chromium is not installed (Debian: apt-get install chromium), or set CHROMIUM" >&2
  exit 2
fi

# absolute paths: Chromium resolves --screenshot against its own working directory
page=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
url=file://$(printf '%s' "$page" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')
mkdir -p "$(dirname "$out")"
shot=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
tmp="$(dirname "$shot")/.$(basename "$shot").$$.tmp.png"
trap 'rm -f "$tmp"' EXIT

"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size="${WINDOW_SIZE:-1400,3000}" --screenshot="$tmp" "$url" >/dev/null 2>&1 || {
  echo "error: $browser failed to render $page" >&2
  exit 1
}
if [ ! -s "$tmp" ]; then
  echo "error: $browser wrote no screenshot for $page" >&2
  exit 1
fi
mv -f "$tmp" "$shot"  # written under a temporary name, renamed into place
echo "$shot"
