# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print those of the given wheel files whose distribution this Python lacks or has at an older version.

tests/gpu/run.sh installs only these, so that a carried wheel never replaces a newer package of the
GPU host (torch and transformers there depend on their own versions) but fills in what is missing
or too old. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path


def version_key(version):
    """A sortable key of a release version (1.2.10 > 1.2.9); pre-release and local parts sort after digits."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.+!-]", version))


def needed(wheels):
    for wheel in wheels:
        name, version = Path(wheel).name.split("-")[:2]
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            yield wheel
            continue
        if version_key(installed) < version_key(version):
            yield wheel


if __name__ == "__main__":
    for path in needed(sys.argv[1:]):
        print(path)
