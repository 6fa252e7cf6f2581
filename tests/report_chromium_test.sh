#!/usr/bin/env bash
# The HTML report of `tide simulate --report` in a real browser: headless Chromium (Debian
# `chromium`, installed by scripts/install-deps) loads the page from disk with networking off and
# must run its script without a single console message, end with every chart initialised, zoom
# when asked to (#zoom=P:X0:X1), and produce a screenshot. Set TIDE_SCREENSHOT=FILE to keep the
# screenshot (docs/simulate-report.png is made this way).
# Usage: bash tests/report_chromium_test.sh TIDE_BINARY SOURCE_DIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  fail "chromium is not installed (scripts/install-deps installs it)"
  summary report_chromium
  exit 1
fi

# browser OUTPUT_FILE URL EXTRA_FLAGS...: one headless run with a fresh profile; stderr (the
# console log) goes to OUTPUT_FILE.log.
browser() {
  local output="$1" url="$2"
  shift 2
  local profile
  profile=$(mktemp -d "$work/profile.XXXX")
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-extensions --user-data-dir="$profile" --enable-logging=stderr --v=0 \
    "$@" "$url" >"$output" 2>"$output.log"
}

# The report of a two-day WorldCup 98 run: every preset, a hand-written group, worst windows.
scenario_copy worldcup98 "1998-06-29 00:00:00|1998-07-01 00:00:00"
if ! "$tide" simulate --report "$work/report.html" "$work/worldcup98.yaml" >"$work/table.txt" 2>&1; then
  fail "tide simulate --report: $(cat "$work/table.txt")"
  echo "report_chromium: $passes passed, $failures failed"
  exit 1
fi
charts=$(grep -o '<div class="chart ' "$work/report.html" | wc -l)
mains=$(grep -o '<div class="chart main"' "$work/report.html" | wc -l)
policies=$(grep -o '<section class="policy"' "$work/report.html" | wc -l)

# 1. The DOM after the script ran: every chart initialised, the table and the SVGs there.
browser "$work/dom.html" "file://$work/report.html" --dump-dom
console=$(grep -E ':CONSOLE|Uncaught' "$work/dom.html.log")
if [ -n "$console" ]; then
  fail "console messages while loading the report:"
  echo "$console" | head -10
else
  pass
fi
if grep -q "<body data-charts=\"$charts\">" "$work/dom.html"; then
  pass
else
  fail "the script did not initialise the $charts charts: $(grep -o '<body[^>]*>' "$work/dom.html")"
fi
svgs=$(grep -o '<svg viewBox' "$work/dom.html" | wc -l)
if [ "$policies" -ge 6 ] && [ "$mains" -eq "$policies" ] && [ "$svgs" -eq "$charts" ] &&
  grep -q '<table class="results">' "$work/dom.html"; then
  pass
else
  fail "DOM: $policies policies, $mains main charts, $svgs svgs for $charts charts"
fi

# 2. Zoom: #zoom=0:600:1200 shows steps 600..1200 of the first policy's chart and relabels the axis.
browser "$work/zoom.html" "file://$work/report.html#zoom=0:600:1200" --dump-dom
plot=$(grep -o '<svg class="plot"[^>]*>' "$work/zoom.html" | head -1)
if grep -q 'viewBox="600 0 600 ' <<<"$plot" && ! grep -qE ':CONSOLE|Uncaught' "$work/zoom.html.log"; then
  pass
else
  fail "zoom: first plot is $plot"
fi
# 600 steps of 1 min from 1998-06-29T00:00Z: 10:00 .. 20:00, labelled every hour.
first_axis=$(grep -o '<g class="xaxis">.*' "$work/zoom.html" | head -1 | sed 's#</g>.*##')
if grep -q '>12:00</text>' <<<"$first_axis" && grep -q '>1998-06-29</text>' <<<"$first_axis"; then
  pass
else
  fail "zoom: the time axis was not relabelled: ${first_axis:0:300}"
fi

# 3. Interaction: a copy of the page with a script appended that moves the mouse over the first
# main chart (hover read-out), drags from 25 % to 50 % of its width (zoom) and double-clicks
# (reset), recording what it sees in attributes of <body>.
cat >"$work/interact.js" <<'EOF'
<script>
(function () {
  var chart = document.querySelector(".chart.main"), overlay = chart.querySelector("rect.overlay");
  var plot = chart.querySelector("svg.plot"), box = overlay.getBoundingClientRect();
  function at(type, f, target) {
    (target || overlay).dispatchEvent(new MouseEvent(type, { bubbles: true, view: window,
      clientX: box.left + f * box.width, clientY: box.top + box.height / 2 }));
  }
  var body = document.body;
  body.setAttribute("data-full", plot.getAttribute("viewBox"));
  at("mousemove", 0.5);
  var tip = chart.querySelector(".tip");
  body.setAttribute("data-tip", tip.hidden ? "(hidden)" : tip.textContent);
  at("mousedown", 0.25);
  at("mousemove", 0.5, window);
  at("mouseup", 0.5, window);
  body.setAttribute("data-zoomed", plot.getAttribute("viewBox"));
  at("dblclick", 0.4);
  body.setAttribute("data-reset", plot.getAttribute("viewBox"));
})();
</script>
EOF
sed '/<\/body>/e cat '"$work/interact.js" "$work/report.html" >"$work/interact.html"
browser "$work/interact.dom" "file://$work/interact.html" --dump-dom --window-size=1400,1000
if out=$(python3 - "$work/interact.dom" <<'EOF'
import html, re, sys
body = re.search(r"<body([^>]*)>", open(sys.argv[1]).read()).group(1)
attrs = {k: html.unescape(v) for k, v in re.findall(r'data-([a-z]+)="([^"]*)"', body)}
problems = []
full = [float(v) for v in attrs.get("full", "0 0 0 0").split()]
zoomed = [float(v) for v in attrs.get("zoomed", "0 0 0 0").split()]
tip = attrs.get("tip", "")
if not re.search(r"^1998-06-\d\d \d\d:\d\d UTC .*ready \d+ .*capacity \d+$", tip):
    problems.append(f"hover read-out: {tip!r}")
# The drag covered a quarter of the width starting at a quarter.
if not (abs(zoomed[0] - (full[0] + full[2] / 4)) < full[2] / 100 and
        abs(zoomed[2] - full[2] / 4) < full[2] / 100):
    problems.append(f"drag zoom: {attrs.get('zoomed')} of {attrs.get('full')}")
if attrs.get("reset") != attrs.get("full"):
    problems.append(f"double-click reset: {attrs.get('reset')} vs {attrs.get('full')}")
print("; ".join(problems) or f"tip {tip!r}, zoomed to {attrs.get('zoomed')}")
sys.exit(1 if problems else 0)
EOF
) && ! grep -qE ':CONSOLE|Uncaught' "$work/interact.dom.log"; then
  echo "interaction: $out"
  pass
else
  fail "interaction: $out $(grep -E ':CONSOLE|Uncaught' "$work/interact.dom.log" | head -3)"
fi

# 4. A screenshot of the page as a reader sees it.
browser "$work/shot.out" "file://$work/report.html" --screenshot="$work/report.png" \
  --window-size=1400,2400 --hide-scrollbars
size=$(stat -c %s "$work/report.png" 2>/dev/null || echo 0)
if [ "$size" -gt 50000 ] && ! grep -qE ':CONSOLE|Uncaught' "$work/shot.out.log"; then
  pass
  if [ -n "${TIDE_SCREENSHOT:-}" ]; then cp "$work/report.png" "$TIDE_SCREENSHOT"; fi
else
  fail "screenshot: $size bytes"
fi

summary report_chromium
