#!/usr/bin/env bash
# Copy the browser libraries pinned in package.json into static/vendor/, so the app never loads
# anything from a CDN. The copied files are committed: a machine without node or internet works.
# Run again after changing a version in package.json.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp package.json "$work/"
(cd "$work" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)

katex="$work/node_modules/katex/dist"
htmx="$work/node_modules/htmx.org/dist"

rm -rf static/vendor/katex static/vendor/htmx
mkdir -p static/vendor/katex/fonts static/vendor/katex/contrib static/vendor/htmx
cp "$katex/katex.min.js" "$katex/katex.min.css" static/vendor/katex/
cp "$katex/contrib/auto-render.min.js" static/vendor/katex/contrib/
cp "$katex"/fonts/*.woff2 static/vendor/katex/fonts/
# Only the woff2 fonts are shipped (every supported browser reads them): drop the css's woff/ttf
# fallbacks, whose missing files would fail collectstatic's manifest storage (the Docker build).
sed -i -E 's/,url\(fonts\/[A-Za-z0-9_-]+\.woff\) format\("woff"\),url\(fonts\/[A-Za-z0-9_-]+\.ttf\) format\("truetype"\)//g' \
    static/vendor/katex/katex.min.css
cp "$work/node_modules/katex/LICENSE" static/vendor/katex/LICENSE
cp "$htmx/htmx.min.js" static/vendor/htmx/
cp "$work/node_modules/htmx.org/LICENSE" static/vendor/htmx/LICENSE

katex_version="$(node -p "require('$work/node_modules/katex/package.json').version")"
htmx_version="$(node -p "require('$work/node_modules/htmx.org/package.json').version")"
printf 'katex %s\nhtmx.org %s\n' "$katex_version" "$htmx_version" > static/vendor/VERSIONS
echo "vendored katex $katex_version and htmx.org $htmx_version into static/vendor/"
