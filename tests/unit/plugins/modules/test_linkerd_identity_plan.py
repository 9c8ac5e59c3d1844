# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of linkerd_identity_plan on certificate files written to a temporary directory."""

from __future__ import annotations

import sys
from pathlib import Path


from ansible_collections.hymt.gpu_mesh.plugins.modules import linkerd_identity_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
from linkerd_certgen import issuer_of, make, pem  # noqa: E402  pylint: disable=wrong-import-position


def test_empty_directory_plans_a_first_install(tmp_path, run_module):
    out = run_module(linkerd_identity_plan.main, {"directory": str(tmp_path)})
    assert out.kind == "exit"
    assert out.result["plan"]["create_anchor"] and out.result["plan"]["issue_issuer"]
    assert out.result["certificates"] == {}
    assert out.result["changed"] is False


def test_real_files_and_renewal_reason(tmp_path, run_module):
    anchor = make("root.linkerd.cluster.local", days=3650, pathlen=1)
    (tmp_path / "ca.crt").write_text(pem(anchor[0]))
    (tmp_path / "issuer.crt").write_text(pem(issuer_of(anchor, start=-400, days=365)[0]))
    out = run_module(linkerd_identity_plan.main, {"directory": str(tmp_path)})
    assert out.result["plan"]["issuer_reason"] == "expired"
    assert out.result["certificates"]["issuer"]["expired"] is True


def test_step_out_of_order_fails_with_the_step_to_run(tmp_path, run_module):
    anchor = make("root.linkerd.cluster.local", days=3650, pathlen=1)
    (tmp_path / "ca.crt").write_text(pem(anchor[0]))
    (tmp_path / "issuer.crt").write_text(pem(issuer_of(anchor)[0]))
    out = run_module(linkerd_identity_plan.main, {"directory": str(tmp_path), "step": "reissue"})
    assert out.kind == "fail"
    assert out.result["msg"].endswith("run the step 'bundle' first")


def test_provided_certificates_are_only_checked(run_module):
    anchor = make("root.linkerd.cluster.local", days=3650, pathlen=1)
    other = make("root.linkerd.cluster.local", days=3650, pathlen=1)
    ok = run_module(linkerd_identity_plan.main, {"trust_anchors_pem": pem(anchor[0]), "issuer_crt_pem": pem(issuer_of(anchor)[0])})
    assert ok.kind == "exit" and ok.result["plan"] is None
    bad = run_module(linkerd_identity_plan.main, {"trust_anchors_pem": pem(anchor[0]), "issuer_crt_pem": pem(issuer_of(other)[0])})
    assert bad.kind == "fail" and "not signed by any trust anchor" in bad.result["msg"]
    step = run_module(linkerd_identity_plan.main, {"trust_anchors_pem": pem(anchor[0]), "step": "bundle"})
    assert step.kind == "fail" and step.result["msg"] == "step=bundle needs directory: provided certificates are only checked"
