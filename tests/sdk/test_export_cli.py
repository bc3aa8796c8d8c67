"""`rapid-edge export` as a user meets it: it never replaces a folder silently, refuses options that do not
apply, writes no machine paths into the package, and its four steps are not buried under the warnings of the
libraries it drives."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from sdk.cli.main import main  # noqa: E402
from user_networks import export_point_network  # noqa: E402


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """net.py, net.json and weights for `export --model`, made by exporting them once."""
    folder = tmp_path_factory.mktemp("net")
    export_point_network(folder, {}, {"output": "point_logits"}, sim_frames=1)
    return folder


def arguments(network, out) -> list[str]:
    return ["export", "--model", f"{network / 'net.py'}:build", "--checkpoint", str(network / "net.safetensors"),
            "--config", str(network / "net.json"), "--out", str(out), "--sim-frames", "1"]


def test_an_existing_folder_is_replaced_only_when_asked(network, tmp_path, capsys):
    out = tmp_path / "package"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(arguments(network, out)) == 2
    assert f"{out} already holds files; choose another folder or pass --force" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"
    assert main([*arguments(network, out), "--force"]) == 0


def test_the_manifest_names_no_path_of_this_machine(network):
    manifest = json.loads((network / "package" / "manifest.json").read_text())
    assert str(network) not in json.dumps(manifest)
    assert manifest["model"]["factory"] == "net.py:build" and manifest["model"]["checkpoint"] == "net.safetensors"


def test_triton_refuses_the_options_of_an_export(tmp_path, capsys):
    assert main(["export", "--triton", str(tmp_path / "repo"), "--form", "portable"]) == 2
    assert "--triton serves an exported package" in capsys.readouterr().err


def test_the_export_says_its_steps_without_third_party_noise(network, tmp_path):
    cli = [sys.executable, "-c", "import sys; from sdk.cli.main import main; sys.exit(main(sys.argv[1:]))"]
    done = subprocess.run([*cli, *arguments(network, tmp_path / "quiet")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[4/4] parity with PyTorch" in done.stderr
    noise = [line for line in done.stderr.splitlines() if "Warning" in line or "torchvision" in line or line.startswith("W1")]
    assert noise == []
