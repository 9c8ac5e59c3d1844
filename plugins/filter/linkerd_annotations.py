# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that check Linkerd annotations; documented in linkerd_annotation_problems.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_annotations


def linkerd_annotation_problems(annotations, target="workload", serving_ports=None, labels=None):
    if not isinstance(annotations, dict):
        raise AnsibleFilterError("linkerd_annotation_problems expects a dictionary of annotations, got %s"
                                 % type(annotations).__name__)
    try:
        return linkerd_annotations.problems(dict(annotations), target, serving_ports, dict(labels or {}))
    except ValueError as exc:
        raise AnsibleFilterError("linkerd_annotation_problems: %s" % exc)


class FilterModule:
    def filters(self):
        return {"linkerd_annotation_problems": linkerd_annotation_problems}
