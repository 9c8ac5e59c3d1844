# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a fleet report's HTML page in headless Chromium and check what a browser shows.

    python3 tests/report/chromium_check.py REPORT.html --screenshot OUT.png --expect-node NAME [--expect-node NAME ...]
                                           [--expect-verdict fail|pass|pass_with_warnings]

Uses Debian's ``chromium`` (/usr/bin/chromium, or $CHROMIUM); never downloads a browser. Takes a
1400x1800 screenshot and the DOM as Chromium built it, then asserts: the nodes table (id="nodes")
exists and has exactly one row per expected node (its data-node attribute) and no other; the verdict
banner (id="verdict") says the expected verdict; the screenshot is a PNG of more than a few KB, 1400
pixels wide. Prints one line per assertion. Exit status 0 when all hold, 1 when one does not, 2 when
Chromium is missing or could not run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

WIDTH, HEIGHT = 1400, 1800
MIN_PNG_BYTES = 8 * 1024
VERDICT_LABELS = {"fail": "FAIL", "pass_with_warnings": "PASS WITH WARNINGS", "pass": "PASS"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chromium_binary() -> str | None:
    candidate = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("chromium")


def chromium(binary: str, profile: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--window-size=%d,%d" % (WIDTH, HEIGHT), "--user-data-dir=" + profile,
               "--no-first-run", "--disable-dev-shm-usage", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


class ReportDom(HTMLParser):
    """What the checks need from the dumped DOM: nodes table rows, the verdict banner."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.nodes_tables = 0
        self.node_rows: list[str] = []
        self.rows_without_node = 0
        self._table_depth = 0  # depth of <table> nesting inside the nodes table; 0 = outside
        self._in_body = False
        self.verdict_attr: str | None = None
        self.verdict_text = ""
        self._verdict_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._verdict_depth:
            self._verdict_depth += 1
        elif attrs.get("id") == "verdict":
            self.verdict_attr = attrs.get("data-verdict")
            self._verdict_depth = 1
        if tag == "table":
            if self._table_depth:
                self._table_depth += 1
            elif attrs.get("id") == "nodes":
                self.nodes_tables += 1
                self._table_depth = 1
        elif self._table_depth == 1 and tag == "tbody":
            self._in_body = True
        elif self._table_depth == 1 and tag == "tr":
            if "data-node" in attrs:
                self.node_rows.append(attrs["data-node"])
            elif self._in_body:
                self.rows_without_node += 1

    def handle_endtag(self, tag):
        if self._verdict_depth:
            self._verdict_depth -= 1
        if tag == "tbody" and self._table_depth == 1:
            self._in_body = False
        if tag == "table" and self._table_depth:
            self._table_depth -= 1

    def handle_data(self, data):
        if self._verdict_depth:
            self.verdict_text += data


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the IHDR chunk, or None when the file is no PNG."""
    with path.open("rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("html", type=Path, help="the report's HTML file")
    parser.add_argument("--screenshot", type=Path, required=True, help="where to write the PNG")
    parser.add_argument("--expect-node", action="append", default=[], required=True, metavar="NAME",
                        help="a node the nodes table must show (repeat for each)")
    parser.add_argument("--expect-verdict", choices=sorted(VERDICT_LABELS))
    args = parser.parse_args(argv)

    binary = chromium_binary()
    if not binary:
        print("chromium_check: no Chromium at /usr/bin/chromium; install Debian's: apt-get install chromium",
              file=sys.stderr)
        return 2
    if not args.html.is_file():
        print("chromium_check: %s is no file" % args.html, file=sys.stderr)
        return 2
    url = args.html.resolve().as_uri()
    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    if args.screenshot.exists():
        args.screenshot.unlink()

    with tempfile.TemporaryDirectory(prefix="chromium-check-") as profile:
        shot = chromium(binary, profile, "--screenshot=%s" % args.screenshot.resolve(), url)
        dom = chromium(binary, profile, "--dump-dom", url)
    if dom.returncode != 0 or not dom.stdout.strip():
        print("chromium_check: chromium --dump-dom failed (rc %d): %s" % (dom.returncode, dom.stderr.strip()[-2000:]),
              file=sys.stderr)
        return 2

    results = []

    def expect(ok: bool, what: str) -> None:
        results.append(ok)
        print("%s: %s" % ("ok" if ok else "FAIL", what))

    page = ReportDom()
    page.feed(dom.stdout)
    page.close()
    expected = sorted(args.expect_node)
    expect(page.nodes_tables == 1, "the page has one nodes table (id=\"nodes\"); found %d" % page.nodes_tables)
    duplicates = sorted({n for n in page.node_rows if page.node_rows.count(n) > 1})
    expect(not duplicates, "one row per node; repeated: %s" % (", ".join(duplicates) or "none"))
    missing = sorted(set(expected) - set(page.node_rows))
    extra = sorted(set(page.node_rows) - set(expected))
    expect(not missing and not extra,
           "the nodes table shows exactly %s; missing: %s; not expected: %s"
           % (", ".join(expected), ", ".join(missing) or "none", ", ".join(extra) or "none"))
    expect(page.rows_without_node == 0, "every body row of the nodes table names its node; %d do not" % page.rows_without_node)
    if args.expect_verdict:
        shown = " ".join(page.verdict_text.split())
        want = VERDICT_LABELS[args.expect_verdict]
        expect(shown == want and page.verdict_attr == args.expect_verdict,
               "the verdict banner says %r (data-verdict %r); expected %r (%s)"
               % (shown, page.verdict_attr, want, args.expect_verdict))

    if not args.screenshot.is_file():
        expect(False, "chromium wrote the screenshot %s (rc %d: %s)" % (args.screenshot, shot.returncode, shot.stderr.strip()[-500:]))
    else:
        size = args.screenshot.stat().st_size
        expect(size > MIN_PNG_BYTES, "the screenshot has %d bytes, more than %d" % (size, MIN_PNG_BYTES))
        dims = png_size(args.screenshot)
        expect(dims is not None and dims[0] == WIDTH,
               "the screenshot is a PNG %d pixels wide; it is %s" % (WIDTH, "%dx%d" % dims if dims else "no PNG"))
    print("chromium_check: %s (%d of %d assertions hold); screenshot %s"
          % ("pass" if all(results) else "FAIL", sum(results), len(results), args.screenshot))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
