"""A role's defaults and vars as a play sees them, for tests that render its templates without a play."""

from __future__ import annotations

from ansible.parsing.dataloader import DataLoader
from ansible.template import trust_as_template


def trusted(value):
    """Vars files are trusted templates in a play; do the same for the copies loaded here."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def role_variables(role, **overrides):
    """(loader, variables): ``role``'s defaults/main.yml then vars/main.yml, then ``overrides`` as inventory would set them."""
    loader = DataLoader()
    variables = {}
    for name in ("defaults/main.yml", "vars/main.yml"):
        variables.update(trusted(loader.load_from_file(str(role / name))))
    variables.update(trusted(overrides))
    return loader, variables
