# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write one script's section of docs/benchmarks/gpu.md into RESULTS_DIR/gpu.md.

The scripts of tests/gpu/ run one after the other into the same RESULTS_DIR: each starts from the
gpu.md a previous one wrote there (else from docs/benchmarks/gpu.md) and replaces only its own
section, between its markers; a section without markers yet replaces the body under its heading,
or is added before the model-serving heading.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks" / "gpu.md"
SERVING_HEADING = "## Model serving: HY-MT1.5-1.8B (issue 8, item 4)"


def write_section(results, heading, begin, end, section):
    dest = Path(results) / "gpu.md"
    text = (dest if dest.exists() else DOC).read_text()
    body = "%s\n\n%s\n\n%s" % (begin, section.strip("\n"), end)
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + body + rest.split(end, 1)[1]
    elif heading in text:
        head, rest = text.split(heading, 1)
        following = rest.find("\n## ")
        tail = rest[following:] if following >= 0 else "\n"
        text = "%s%s\n\n%s\n%s" % (head, heading, body, tail)
    elif SERVING_HEADING in text:
        head, rest = text.split(SERVING_HEADING, 1)
        text = "%s%s\n\n%s\n\n%s%s" % (head, heading, body, SERVING_HEADING, rest)
    else:
        text = "%s\n%s\n\n%s\n" % (text.rstrip("\n") + "\n", heading, body)
    dest.write_text(text)
    return dest
