# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One real `transformers serve` on the tiny HunYuanDenseV1 model for the whole session.

The model is built and served by `python -m lab.model_server` in child processes, in the model
server's own venv (made on first use): torch must not be imported into the pytest process, where
Ansible's sys.intern patch breaks it, and the main venv does not carry it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lab_model_server(*args, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "lab.model_server", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode:
        raise RuntimeError("python -m lab.model_server %s failed:\n%s" % (" ".join(map(str, args)), proc.stderr[-3000:]))
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def model_server(tmp_path_factory):
    """(base_url, model_dir) of a running server; stopped at the end of the session."""
    base = tmp_path_factory.mktemp("tiny-hunyuan")
    model_dir = base / "model"
    lab_model_server("start", model_dir, "--state-dir", base)
    record = json.loads((base / "model_server.json").read_text())
    yield record["url"], model_dir
    lab_model_server("stop", "--state-dir", base)


@pytest.fixture(scope="session")
def count_tokens():
    """Token count of a user message after the tiny model's own chat template and tokenizer.

    Rendered here with Jinja2 and the `tokenizers` library, not by the server's code path.
    """
    jinja2 = pytest.importorskip("jinja2")
    tokenizers = pytest.importorskip("tokenizers")

    def count(model_dir, text):
        config = json.loads((Path(model_dir) / "tokenizer_config.json").read_text())
        template = jinja2.Environment().from_string((Path(model_dir) / "chat_template.jinja").read_text())
        rendered = template.render(messages=[{"role": "user", "content": text}], add_generation_prompt=True,
                                   bos_token=config["bos_token"], eos_token=config["eos_token"])
        return len(tokenizers.Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json")).encode(rendered, add_special_tokens=False).ids)
    return count
