# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The linkerd_annotation_problems filter as templates call it."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hymt.gpu_mesh.plugins.filter.linkerd_annotations import FilterModule


def test_filter_is_registered_and_positional_arguments_work():
    check = FilterModule().filters()["linkerd_annotation_problems"]
    found = check({"config.linkerd.io/skip-inbound-ports": "8000"}, "workload", [8000])
    assert [p["severity"] for p in found] == ["error"]


def test_filter_refuses_non_dicts_and_bad_targets():
    check = FilterModule().filters()["linkerd_annotation_problems"]
    with pytest.raises(AnsibleFilterError, match="expects a dictionary"):
        check(["linkerd.io/inject"])
    with pytest.raises(AnsibleFilterError, match="target must be one of"):
        check({}, "deployment")
