"""Run a module's main() in-process: its arguments patched in, exit_json/fail_json caught."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleResult(NamedTuple):
    kind: str  # "exit" or "fail"
    result: dict


class _ModuleExit(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.outcome = ModuleResult(kind, result)


@pytest.fixture
def run_module(monkeypatch):
    """run_module(main, args) -> ModuleResult(kind, result)."""

    def exit_json(self, **result):
        raise _ModuleExit("exit", result)

    def fail_json(self, **result):
        raise _ModuleExit("fail", result)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(main, args):
        with patch_module_args(args), pytest.raises(_ModuleExit) as caught:
            main()
        return caught.value.outcome

    return run
