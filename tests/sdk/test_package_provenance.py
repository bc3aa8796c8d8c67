"""A package's build record: a change to the weights or to the code that builds the graph must show."""
from __future__ import annotations

import subprocess
import sys

from conftest import REPO
from sdk import package_provenance
from sdk.models.registry import default_checkpoint
from sdk.package_provenance import BuildRecord


def test_graph_source_digest_follows_the_graph_code(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    layer = tmp_path / "models" / "head.py"
    layer.write_text("WIDTH = 24\n")
    (tmp_path / "exporting.py").write_text("OPSET = 18\n")
    monkeypatch.setattr(package_provenance, "ROOT", tmp_path)
    monkeypatch.setattr(package_provenance, "GRAPH_SOURCES", ("models", "exporting.py"))
    before = package_provenance.graph_source_digest()
    assert package_provenance.graph_source_digest() == before
    layer.write_text("WIDTH = 32\n")
    assert package_provenance.graph_source_digest() != before


def test_the_record_follows_the_weights(tmp_path):
    (tmp_path / "model.safetensors").write_bytes((default_checkpoint("rapid_seg") / "model.safetensors").read_bytes())
    before = BuildRecord.of(tmp_path)
    assert before == BuildRecord.of(default_checkpoint("rapid_seg"))
    (tmp_path / "model.safetensors").write_bytes(b"other weights")
    assert BuildRecord.of(tmp_path).weights_sha256 != before.weights_sha256


def test_graph_sources_exist():
    """A renamed module would silently drop out of the record."""
    assert all((package_provenance.ROOT / entry).exists() for entry in package_provenance.GRAPH_SOURCES)


def test_every_model_module_the_export_imports_is_a_graph_source():
    """A new layer module the model imports must join the record, or editing it would not stale the package."""
    code = ("import sys; from sdk.training.checkpoint import load_model; from sdk.models.registry import default_checkpoint; "
            "[load_model(default_checkpoint('rapid_seg'), rapid_form=f) for f in ('portable', 'plugin', 'input')]; "
            "print('\\n'.join(m for m in sys.modules if m.startswith(('sdk.models.', 'export.rapid_op.', 'export.opset', "
            "'runtimes.ops.rapid_spec', 'runtimes.ops.nodes'))))")  # the layers, the op's graph forms, its settings and node names, the opset
    modules = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout.split()
    files = {name.replace(".", "/") + ".py" for name in modules} - {"sdk/models/registry.py"}
    assert "sdk/models/head.py" in files
    uncovered = {f for f in files if not any(f == entry or f.startswith(entry + "/") for entry in package_provenance.GRAPH_SOURCES)}
    assert uncovered == set()
