"""Your own network through the SDK's export: a SqueezeSeg-style network (examples/own_model/, an
architecture independent of rapid_seg's, RAPiD features as extra channels, per-pixel logits) and a
per-point network without RAPiD, exported by `rapid-edge export --model`, checked against PyTorch and run
by `Pipeline("segmentation", package=...)`; bad factories, configs and checkpoints fail naming the fault."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import sensors  # noqa: E402
from sdk import ModelOptions, Pipeline, PostprocessOptions  # noqa: E402
from sdk.cli.main import main  # noqa: E402
from runtimes.package import load_package  # noqa: E402
from user_networks import export_point_network, save_random_weights  # noqa: E402
from sdk.segmentation.steps import RapidSegSteps  # noqa: E402
from sdk.segmentation.user_model import ModelConfig, ModelSpecError, build_network, export_user_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SQUEEZESEG = REPO / "examples" / "own_model" / "squeezeseg.py"
SQUEEZESEG_CONFIG = REPO / "examples" / "own_model" / "squeezeseg.json"
SCAN = "semantickitti/sequences/00"


@pytest.fixture(scope="module")
def squeezeseg(tmp_path_factory):
    """Seeded random SqueezeSeg weights, exported by the CLI in the split and portable forms."""
    import importlib.util

    folder = tmp_path_factory.mktemp("squeezeseg")
    loader = importlib.util.spec_from_file_location("squeezeseg_example", SQUEEZESEG)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    torch.manual_seed(3)
    network = module.build(**json.loads(SQUEEZESEG_CONFIG.read_text())["arguments"])
    for batch_norm in (m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        batch_norm.running_mean.uniform_(-0.1, 0.1)  # statistics that are not the identity, so they must travel
        batch_norm.running_var.uniform_(0.5, 2.0)
    weights = save_random_weights(network, folder / "squeezeseg.safetensors")
    packages = {}
    for form in ("split", "portable"):
        code = main(["export", "--model", f"{SQUEEZESEG}:build", "--checkpoint", str(weights), "--config",
                     str(SQUEEZESEG_CONFIG), "--form", form, "--out", str(folder / form), "--sim-frames", "1"])
        assert code == 0
        packages[form] = folder / form
    return weights, packages


def test_a_second_architecture_exports_with_a_passing_parity_report(squeezeseg):
    _, packages = squeezeseg
    for form, folder in packages.items():
        manifest = load_package(folder).manifest
        assert manifest.form == form and manifest.model.factory.endswith("squeezeseg.py:build")
        assert [s.name for s in manifest.inputs] == (["image", "pixel", "rapid"] if form == "split"
                                                     else ["image", "pixel"])  # per-pixel logits: no points
        assert manifest.built_from["network_source_sha256"] and manifest.model_config["contract"]["rapid"] is True
        assert manifest.label_set == sensors.SEMANTIC_KITTI
        report = json.loads((folder / "parity.json").read_text())
        assert report["passed"] and report["worst"]["label_agreement"] >= 0.999


def test_the_pipeline_runs_the_package_as_pytorch_labels_the_frame(squeezeseg):
    weights, packages = squeezeseg
    frame = next(iter(sensors.open("sim://hdl64e?seed=5001")))
    wrapped = build_network(f"{SQUEEZESEG}:build", weights, ModelConfig.read(SQUEEZESEG_CONFIG))
    labels = {}
    for form, folder in packages.items():
        with Pipeline("segmentation", package=folder, model=ModelOptions(warmup=False),
                      postprocess=PostprocessOptions(neighbour_vote=False)) as pipeline:
            result = pipeline(frame)
            assert pipeline.describe()["pipeline"] == "segmentation" and pipeline.package.form == form
        labels[form] = result.labels
    prepared = RapidSegSteps.for_model(wrapped, rapid_in_graph=False).preprocess(frame)  # RAPiD fed, as split
    feed = prepared.feed
    with torch.no_grad():  # the user's network alone, its per-pixel logits read at each point's pixel here
        per_pixel = wrapped.network(torch.from_numpy(feed["image"]), torch.from_numpy(feed["rapid"]))[0].numpy()
    rows, columns = np.divmod(feed["pixel"], per_pixel.shape[2])
    reference = np.zeros(len(frame.points), np.int64)
    reference[prepared.has_pixel] = per_pixel[:, rows, columns].argmax(axis=0) + 1
    assert len(np.unique(reference)) > 3  # random weights still spread the points over classes
    for form in packages:
        assert (labels[form] == reference).mean() >= 0.999, form


@pytest.mark.slow
def test_the_second_architecture_labels_the_real_scan_with_the_vote(squeezeseg, data):
    _, packages = squeezeseg
    scan = data(SCAN)
    with Pipeline("segmentation", package=packages["split"]) as pipeline:
        results = list(pipeline.run(sensors.open(scan)))
    assert len(results) == 1 and len(results[0].labels) == 124_668
    assert results[0].labels.max() <= 19 and set(results[0].timings) >= {"preprocess", "infer", "postprocess"}


def test_a_per_point_network_without_rapid_exports_split_only(tmp_path):
    package = export_point_network(tmp_path, {"hidden": 8}, {"output": "point_logits"}, seed=0, sim_frames=1)
    assert [s.name for s in package.inputs] == ["image", "pixel", "points"] and package.form == "split"
    frame = next(iter(sensors.open("sim://hdl64e?seed=5002")))
    with Pipeline("segmentation", package=package.folder, model=ModelOptions(warmup=False)) as pipeline:
        assert len(pipeline(frame).labels) == len(frame.points)
    with pytest.raises(ValueError, match="reads none: use split"):
        export_user_model(f"{tmp_path / 'net.py'}:build", tmp_path / "net.safetensors", tmp_path / "net.json", "portable",
                          tmp_path / "portable", sim_frames=1)


@pytest.mark.parametrize("contract, message", [
    ({"outputs": "pixel_logits"}, "unknown contract keys \\['outputs'\\]"),
    ({"output": "voxels"}, "contract output 'voxels'"),
    ({"label_set": "cityscapes"}, "contract label_set 'cityscapes'"),
    ({"rows": 0}, "positive integers"),
    ({"rapid": {"window": 3}}, "contract rapid: not RAPiD settings"),
])
def test_a_bad_contract_is_refused_naming_the_key(tmp_path, contract, message):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"arguments": {}, "contract": contract}))
    with pytest.raises(ModelSpecError, match=message):
        ModelConfig.read(config).contract.interface()


def test_bad_factories_and_checkpoints_fail_at_once_naming_them(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"arguments": {}, "contract": {"rapid": True}}))
    weights = tmp_path / "w.safetensors"
    save_random_weights(torch.nn.Linear(2, 2), weights)
    cases = {
        "nowhere.py:build": "is not a file",
        "json:no_such_function": "has no function 'no_such_function'",
        "no_such_module_here:build": "cannot import no_such_module_here",
        "just_a_name": "expected MODULE:FUNCTION",
        f"{SQUEEZESEG}:build": "does not fit",  # a Linear's weights for the SqueezeSeg network
    }
    for spec, message in cases.items():
        with pytest.raises(ModelSpecError, match=message):
            export_user_model(spec, weights, config, "split", tmp_path / "out")
    (tmp_path / "not_weights.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(ModelSpecError, match="not a readable safetensors file"):
        export_user_model(f"{SQUEEZESEG}:build", tmp_path / "not_weights.safetensors", config, "split", tmp_path / "out")
    config.write_text("{not json")
    with pytest.raises(ModelSpecError, match="not a readable JSON config"):
        export_user_model(f"{SQUEEZESEG}:build", weights, config, "split", tmp_path / "out")


def test_the_cli_names_what_an_own_model_export_lacks(capsys):
    with pytest.raises(SystemExit, match="needs --checkpoint"):
        main(["export", "--model", f"{SQUEEZESEG}:build", "--out", "x"])
    with pytest.raises(SystemExit, match="one of the two"):
        main(["export", "rapid_seg", "--model", f"{SQUEEZESEG}:build", "--out", "x"])


def test_the_segmentation_pipeline_needs_a_package():
    with pytest.raises(ValueError, match="pass package="):
        Pipeline("segmentation")


def test_the_cli_runs_and_labels_with_a_package_of_your_own(squeezeseg, tmp_path, data):
    _, packages = squeezeseg
    assert main(["run", "--pipeline", "segmentation", "--package", str(packages["split"]), "--runtime",
                 "onnxruntime-cpu", "--source", "sim://hdl64e?seed=5003&frames=1"]) == 0
    scan = data(SCAN)
    assert main(["label", str(scan), "--out", str(tmp_path / "labels"), "--package", str(packages["split"]),
                 "--runtime", "onnxruntime-cpu"]) == 0
    written = sorted((tmp_path / "labels").rglob("*.label"))
    assert len(written) == 1 and np.fromfile(written[0], np.uint32).size == 124_668


@pytest.mark.parametrize("source", ["sim://hdl64e?seed=5004&frames=1", SCAN])
def test_training_samples_are_what_the_package_is_fed(source, data):
    """docs/own_model.md's promise to whoever trains their own network: make_sample (no augmentation) gives
    the image, RAPiD features and pixels the deployed preprocessing feeds, bit for bit."""
    from sdk.segmentation.models.rapid_seg_config import SHIPPED_RAPID
    from sdk.segmentation.training.data import make_sample
    from sensors.labels import SEMANTIC_KITTI

    frame = next(iter(sensors.open(source if "://" in source else data(source))))
    sample = make_sample(frame, SHIPPED_RAPID)
    feed = RapidSegSteps(64, 2048, SHIPPED_RAPID, SEMANTIC_KITTI).preprocess(frame).feed
    np.testing.assert_array_equal(sample.image, feed["image"][0])
    np.testing.assert_array_equal(sample.rapid, feed["rapid"][0])
    np.testing.assert_array_equal(sample.pixel, feed["pixel"])


@pytest.mark.parametrize("contract", [dict(rapid=False), dict(rows=32, columns=1024, rapid=False),
                                      dict(rows=32, columns=1024, rapid=True, label_set="nuscenes")])
def test_a_contract_makes_the_samples_its_package_is_fed(contract, data):
    """Every contract the docs allow, RAPiD or not, at its own rows and columns (not the sensor's)."""
    from sdk.segmentation.user_model import ModelContract

    contract = ModelContract(**contract)
    frame = next(iter(sensors.open(data(SCAN))))
    sample = contract.make_sample(frame)
    steps = RapidSegSteps(contract.rows, contract.columns, contract.rapid_config(), contract.interface().label_set)
    feed = steps.preprocess(frame).feed
    assert sample.image.shape == (4, contract.rows, contract.columns)
    np.testing.assert_array_equal(sample.image, feed["image"][0])
    np.testing.assert_array_equal(sample.pixel, feed["pixel"])
    if contract.rapid:
        np.testing.assert_array_equal(sample.rapid, feed["rapid"][0])
    else:
        assert sample.rapid is None and "rapid" not in feed


def test_the_example_trains_on_the_sdks_samples_and_its_weights_load_for_export(tmp_path, one_thread):
    """examples/own_model/train_squeezeseg.py on a few simulated frames, on one thread: the loss falls and
    the weights it writes fit the factory for `rapid-edge export`."""
    import importlib.util

    loader = importlib.util.spec_from_file_location("train_squeezeseg", SQUEEZESEG.parent / "train_squeezeseg.py")
    example = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(example)
    losses = example.train("sim://hdl64e?seed=1&frames=8", tmp_path, steps=8)
    assert len(losses) == 8 and np.mean(losses[-3:]) < 0.9 * losses[0]
    build_network(f"{SQUEEZESEG}:build", tmp_path / "model.safetensors", ModelConfig.read(SQUEEZESEG_CONFIG))
    assert json.loads((tmp_path / "training.json").read_text())["steps"] == 8


def test_the_plugin_form_exports_for_onnxruntimes_tensorrt_provider(squeezeseg, tmp_path):
    """--plugin-domain trt.plugins: the same graph (parity run on it in domain rapid) with its RAPiD node where ONNX
    Runtime's TensorRT provider looks for TensorRT plugins; the runner hands that provider the plugin library and
    refuses, naming the provider, where it is absent."""
    import onnx

    from runtimes.onnxruntime_runner import OnnxRuntimeRunner
    from runtimes.ops.nodes import TENSORRT_EP_DOMAIN
    from runtimes.package import load_package

    weights, _ = squeezeseg
    out = tmp_path / "trt_plugins"
    assert main(["export", "--model", f"{SQUEEZESEG}:build", "--checkpoint", str(weights), "--config", str(SQUEEZESEG_CONFIG),
                 "--form", "plugin", "--plugin-domain", TENSORRT_EP_DOMAIN, "--out", str(out), "--sim-frames", "1"]) == 0
    package = load_package(out)
    assert package.custom_ops == (f"{TENSORRT_EP_DOMAIN}::RapidFeatures",)
    assert json.loads((out / "parity.json").read_text())["passed"]
    graph = onnx.load(str(package.model_path))
    assert [n.domain for n in graph.graph.node if n.op_type == "RapidFeatures"] == [TENSORRT_EP_DOMAIN]
    assert "rapid" not in {o.domain for o in graph.opset_import} and TENSORRT_EP_DOMAIN in {o.domain for o in graph.opset_import}
    with pytest.raises(RuntimeError, match="only ONNX Runtime's TensorRT provider runs"):
        OnnxRuntimeRunner(package, providers=["CPUExecutionProvider"]).session_providers()
    with pytest.raises(RuntimeError, match="need the SDK's plugin library"):
        OnnxRuntimeRunner(package, providers=["TensorrtExecutionProvider"]).session_providers()
    library = tmp_path / "librapid_edge_plugins.so"
    runner = OnnxRuntimeRunner(package, providers=["TensorrtExecutionProvider", "CPUExecutionProvider"],
                               plugin_libraries=[library])
    assert runner.session_providers() == [("TensorrtExecutionProvider", {"trt_extra_plugin_lib_paths": str(library)}),
                                          "CPUExecutionProvider"]
    assert main(["export", "--model", f"{SQUEEZESEG}:build", "--checkpoint", str(weights), "--config", str(SQUEEZESEG_CONFIG),
                 "--form", "split", "--plugin-domain", TENSORRT_EP_DOMAIN, "--out", str(tmp_path / "no")]) == 2


def test_a_run_names_the_network_that_runs(squeezeseg, data, capsys):
    """The run's header and report name the package's model (the factory), not the task it runs under."""
    _, packages = squeezeseg
    assert main(["run", "--source", str(data(SCAN)), "--frames", "1", "--runtime", "onnxruntime-cpu",
                 "--package", str(packages["split"]), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["model"].endswith("squeezeseg.py:build")
    assert captured.err.startswith("squeezeseg.py:build on onnxruntime")
