"""A package's build record is computed: a change to the weights, or to any module the exporter imports
(directly or through others), must show; a module the exporter never imports must not."""
from __future__ import annotations

import shutil
import subprocess
import sys


from conftest import REPO
from sdk.segmentation import build_record
from sdk.segmentation.build_record import BuildRecord, exporter_modules, graph_source_digest, network_source_digest
from sdk.shipped import default_checkpoint


def copy_of_the_sources(tmp_path):
    for package in build_record.SDK_PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "weights", "*.so"))
    return tmp_path


def test_editing_a_module_the_exporter_reaches_changes_the_record(tmp_path):
    """neighbour_vote, the label table and range projection reach the package through the steps and the parity
    report; the hand list the record used to be left them out."""
    root = copy_of_the_sources(tmp_path)
    before = graph_source_digest(root=root)
    assert graph_source_digest(root=root) == before
    for module in ("sdk/segmentation/neighbour_vote.py", "sensors/labels.py", "sdk/segmentation/range_image.py",
                   "sdk/segmentation/models/head.py", "export/rapid_op/schema.py"):
        edited = root / module
        original = edited.read_text()
        edited.write_text(original + "\n# edited\n")
        assert graph_source_digest(root=root) != before, module
        edited.write_text(original)
    assert graph_source_digest(root=root) == before


def test_editing_a_module_the_exporter_never_imports_keeps_the_record(tmp_path):
    root = copy_of_the_sources(tmp_path)
    before = graph_source_digest(root=root)
    (root / "sdk" / "cli" / "label.py").write_text("# the label command, edited\n")
    assert graph_source_digest(root=root) == before


def test_every_sdk_module_an_export_loads_is_in_the_closure():
    """What the static closure would miss (an import by name at run time) shows as a module that building the
    model in every form loads, beyond what importing the packages on the way (their __init__s) loads."""
    parents = sorted({".".join(m.split(".")[:n]) for m in exporter_modules() for n in range(1, m.count(".") + 1)})
    code = (f"import importlib, sys; [importlib.import_module(p) for p in {parents!r}]; before = set(sys.modules); "
            "from sdk.segmentation.exporting import export_rapid_seg; "
            "from sdk.segmentation.training.checkpoint import load_model; from sdk.shipped import default_checkpoint; "
            "[load_model(default_checkpoint('rapid_seg'), rapid_form=f) for f in ('portable', 'plugin', 'input')]; "
            "print('\\n'.join(m for m in set(sys.modules) - before if m.split('.')[0] in ('sdk', 'export', 'runtimes', 'sensors')))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout.split())
    assert "sdk.segmentation.exporting" in loaded
    assert loaded - {"sdk.shipped"} <= set(exporter_modules())


def test_the_record_follows_the_weights(tmp_path):
    (tmp_path / "model.safetensors").write_bytes((default_checkpoint("rapid_seg") / "model.safetensors").read_bytes())
    before = BuildRecord.of(tmp_path)
    assert before == BuildRecord.of(default_checkpoint("rapid_seg"))
    (tmp_path / "model.safetensors").write_bytes(b"other weights")
    assert BuildRecord.of(tmp_path).weights_sha256 != before.weights_sha256


def test_a_wrapped_third_party_network_records_the_file_of_its_layers(tmp_path, monkeypatch):
    """A factory that wraps a network from another file: editing the file holding the layers changes the record."""
    (tmp_path / "thirdparty_net.py").write_text("import torch\n\nclass Net(torch.nn.Module):\n"
                                                "    def __init__(self):\n        super().__init__()\n"
                                                "        self.conv = torch.nn.Conv2d(5, 3, 1)\n")
    (tmp_path / "factory.py").write_text("import torch\nfrom thirdparty_net import Net\n\n"
                                         "class Wrapper(torch.nn.Module):\n    def __init__(self):\n"
                                         "        super().__init__()\n        self.inner = Net()\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def digest() -> str:
        for name in ("factory", "thirdparty_net"):
            sys.modules.pop(name, None)
        import factory

        return network_source_digest(factory.Wrapper())

    before = digest()
    assert digest() == before
    (tmp_path / "thirdparty_net.py").write_text((tmp_path / "thirdparty_net.py").read_text() + "# patched\n")
    assert digest() != before
