"""`rapid-edge export`: every form of the shipped rapid_seg as a package, checked against PyTorch on the
real scan in ONNX Runtime; damaged packages and bad feeds give clear errors."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.package import PackageError, load_package
from runtimes.runner import InputError

SCAN = "semantickitti/sequences/00"


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    from conftest import data_file

    from sdk.segmentation.exporting import export_rapid_seg
    from sdk.shipped import default_checkpoint

    scan = data_file(SCAN)
    folder = tmp_path_factory.mktemp("packages")
    return {form: export_rapid_seg(default_checkpoint("rapid_seg"), form, folder / form, real_scan=scan, sim_frames=1)
            for form in ("split", "portable", "plugin")}


@pytest.mark.slow
@pytest.mark.parametrize("form", ["split", "portable", "plugin"])
def test_each_form_matches_pytorch_on_the_real_scan(packages, form):
    package = packages[form]
    report = json.loads((package.folder / "parity.json").read_text())
    assert report["passed"]
    real = report["frames"][0]
    assert real["name"].startswith("00") and real["points"] == 124_668
    assert real["label_agreement"] >= 0.999 and real["cosine"] >= 0.9999
    assert abs(real["miou_change"]) < 1e-3
    assert package.form == form
    names = [spec.name for spec in package.inputs]
    assert ("rapid" in names) == (form == "split")
    assert package.custom_ops == (("rapid::RapidFeatures",) if form == "plugin" else ())
    assert package.profiles["points"]["max"] >= 124_668


@pytest.mark.slow
def test_every_form_gives_the_same_labels_in_the_pipeline(packages):
    """The manifest alone tells sdk.Pipeline how to feed each form (RAPiD before or inside the graph)."""
    import sensors
    from conftest import data_file
    from sdk import Pipeline

    frame = next(iter(sensors.open(data_file(SCAN))))
    labels = {}
    for form, package in packages.items():
        with Pipeline(package=package.folder, runtime="onnxruntime-cpu") as pipeline:
            labels[form] = pipeline(frame).labels
    assert (labels["portable"] == labels["split"]).mean() >= 0.999
    # RAPiD by the native op inside the graph, bit for bit as the split form's CPU features: the same labels
    np.testing.assert_array_equal(labels["plugin"], labels["split"])


@pytest.mark.slow
@pytest.mark.parametrize("form", ["split", "portable", "plugin"])
def test_each_forms_engine_recipe(packages, form):
    """What TensorRT would be asked for, per export form: every input profiled over the manifest's point
    range (the real scan inside it), the plugin library only for the plugin form, on TensorRT 10 and 11."""
    pytest.importorskip("polygraphy")
    from export.engine import engine_chain, engine_recipe

    package = packages[form]
    for has_fp16_flag in (True, False):
        recipe = engine_recipe(package, "fp16", has_fp16_flag)
        assert recipe.needs_plugins == (form == "plugin")
        assert set(recipe.profile) == {spec.name for spec in package.inputs}
        for low, opt, high in recipe.profile.values():
            assert len(low) == len(opt) == len(high) and all(a <= b <= c for a, b, c in zip(low, opt, high))
        assert max(max(high) for _, _, high in recipe.profile.values()) >= 124_668
        chain = engine_chain(recipe, package.model_path)
        assert chain.network.strongly_typed == (not has_fp16_flag) and chain.config.fp16 == has_fp16_flag


@pytest.mark.slow
def test_a_package_runs_in_the_runner_with_clear_errors_for_bad_feeds(packages):
    package = packages["split"]
    with OnnxRuntimeRunner(package) as runner:
        specs = {s.name: s for s in runner.inputs()}
        feed = {"image": np.zeros((1, 4, 64, 2048), np.float32), "pixel": np.array([0, 1], np.int64),
                "points": np.zeros((2, 4), np.float32), "rapid": np.ones((1, 10, 64, 2048), np.float32)}
        assert runner.infer(feed)["logits"].shape == (2, 19)
        with pytest.raises(InputError, match="'image': shape"):
            runner.infer({**feed, "image": np.zeros((1, 4, 32, 2048), np.float32)})
        with pytest.raises(InputError, match="'points': dtype float64"):
            runner.infer({**feed, "points": feed["points"].astype(np.float64)})
        with pytest.raises(InputError, match="expected"):
            runner.infer({k: v for k, v in feed.items() if k != "rapid"})
        assert set(specs) == {"image", "pixel", "points", "rapid"}


@pytest.mark.slow
def test_damaged_missing_and_foreign_packages_are_refused(packages, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(packages["split"].folder, copy)
    load_package(copy)
    model = copy / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(PackageError, match="model.onnx: sha256 does not match"):
        load_package(copy)
    model.unlink()
    with pytest.raises(PackageError, match="model.onnx: listed in the manifest but missing"):
        load_package(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(PackageError, match="format version 99"):
        load_package(copy)
    with pytest.raises(PackageError, match="not a model package"):
        load_package(tmp_path)


def test_too_old_opset_and_unknown_form_are_refused(tmp_path):
    from sdk.segmentation.exporting import export_rapid_seg

    with pytest.raises(ValueError, match="opset 12 is too old"):
        export_rapid_seg(tmp_path, "split", tmp_path / "out", opset=12)
    with pytest.raises(ValueError, match="unknown form"):
        export_rapid_seg(tmp_path, "weird", tmp_path / "out")


def test_build_without_tensorrt_says_so(tmp_path):
    pytest.importorskip("onnx")
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    from export.engine import EngineError, tensorrt

    with pytest.raises(EngineError, match="TensorRT is not installed"):
        tensorrt()
