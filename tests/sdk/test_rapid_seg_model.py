"""RAPiD-Seg: shapes, the folded nested encoder against its plain definition, the feature forms,
checkpoints (safetensors, no pickles), and a tiny run that learns."""
from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest
import torch

import sensors
from sdk.segmentation.models.autoencoder import to_cells
from sdk.segmentation.models.rapid_seg import RapidSeg
from sdk.segmentation.models.rapid_seg_config import RapidSegConfig
from sdk.checkpoint import WEIGHTS
from sdk.segmentation.training.checkpoint import load_model, save_model
from sdk.segmentation.training.data import RANDOM_REMISSION, Augmentation, collate, crop, make_sample

SMALL = RapidSegConfig(height=16, width=512)


@pytest.fixture(scope="module")
def sim_frames():
    return list(sensors.open("sim://vlp16?seed=3", frames=2))


def batch_for(frames, config=SMALL):
    from sensors.geometry import SensorGeometry

    geometry = SensorGeometry(config.height, config.width, 15.0, -15.0)
    return collate([make_sample(f, config.rapid, geometry=geometry) for f in frames])


def inputs(batch):
    return (torch.from_numpy(batch.image), torch.from_numpy(batch.pixel), torch.from_numpy(batch.points),
            torch.from_numpy(batch.rapid))


def test_shapes_and_dtypes(sim_frames):
    batch = batch_for(sim_frames)
    model = RapidSeg(SMALL).eval()
    out = model.run(*inputs(batch), reconstruct=True)
    n = len(batch.points)
    assert out.logits.shape == (n, 19) and out.logits.dtype == torch.float32
    assert out.codes.shape == (2, SMALL.latents * SMALL.code_dim, 16, 512 // SMALL.cell_width)
    assert out.reconstruction.shape == out.rapid.shape == (2, 10, 16, 512)
    assert torch.isfinite(out.logits).all()


def test_folded_encoder_equals_the_plain_nested_definition():
    """z_l = sum_c a_lc (W_v r_c + b_v); code_l = tanh(E_l z_l + b_E), computed the long way."""
    torch.manual_seed(0)
    model = RapidSeg(SMALL).eval()
    encoder = model.autoencoder.encoder
    rapid = torch.rand(1, 10, 16, 512)
    valid = (torch.rand(1, 1, 16, 512) > 0.3).float()
    folded = encoder(rapid, valid)
    d = encoder.queries.shape[1]
    keys = torch.einsum("dk,bkhw->bdhw", encoder.key.weight, rapid) + encoder.key.bias[:, None, None]
    values = torch.einsum("dk,bkhw->bdhw", encoder.value.weight, rapid) + encoder.value.bias[:, None, None]
    scores = torch.einsum("ld,bdhwc->blhwc", encoder.queries, to_cells(keys, 8)) / math.sqrt(d)
    scores = torch.where(to_cells(valid, 8) > 0, scores, -1e4)
    latents = torch.einsum("blhwc,bdhwc->bldhw", torch.softmax(scores, dim=-1), to_cells(values, 8))
    codes = torch.tanh(torch.einsum("led,bldhw->blehw", encoder.inner, latents) + encoder.inner_bias[None, :, :, None, None])
    torch.testing.assert_close(folded, codes.reshape(folded.shape), atol=1e-5, rtol=1e-5)


def test_points_sharing_a_pixel_get_their_own_logits(sim_frames):
    batch = batch_for(sim_frames[:1])
    image, pixel, points, rapid = inputs(batch)
    twin = points[:1].clone()
    twin[0, 3] = 1.0 - twin[0, 3]  # same pixel, another intensity
    model = RapidSeg(SMALL).eval()
    with torch.no_grad():
        logits = model(image, torch.cat([pixel[:1], pixel]), torch.cat([twin, points]), rapid)
    assert not torch.allclose(logits[0], logits[1])


def test_rapid_computed_in_graph_matches_the_input_form(sim_frames):
    batch = batch_for(sim_frames[:1])
    image, pixel, points, rapid = inputs(batch)
    model = RapidSeg(SMALL).eval()
    state = model.state_dict()
    with torch.no_grad():
        given = model(image, pixel, points, rapid)
        for form in ("portable", "plugin"):
            inside = RapidSeg(SMALL, rapid_form=form).eval()
            inside.load_state_dict(state)
            torch.testing.assert_close(inside(image, pixel, points), given, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("switches", [dict(use_rapid=False, use_autoencoder=False),
                                      dict(use_autoencoder=False), dict(use_fuatten=False)])
def test_ablation_variants_build_and_run(sim_frames, switches):
    config = RapidSegConfig(height=16, width=512, **switches)
    batch = batch_for(sim_frames[:1], config)
    out = RapidSeg(config).run(*inputs(batch), reconstruct=True)
    assert out.logits.shape == (len(batch.points), 19)
    assert (out.codes is None) == (not config.use_autoencoder)


def test_checkpoint_round_trip_is_exact_and_pickle_free(tmp_path, sim_frames, monkeypatch):
    batch = batch_for(sim_frames[:1])
    model = RapidSeg(SMALL).eval()
    save_model(model, tmp_path, {"note": "test"})
    assert (tmp_path / WEIGHTS).read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle stream

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint load tried to unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load_model(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs(batch)), model(*inputs(batch)), atol=0, rtol=0)
    assert loaded.config == SMALL


def test_a_pickled_or_mismatched_checkpoint_is_refused(tmp_path):
    save_model(RapidSeg(SMALL), tmp_path)
    (tmp_path / WEIGHTS).write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(Exception, match="(?i)header|safetensor|deserializ"):
        load_model(tmp_path)
    other = tmp_path / "other"
    save_model(RapidSeg(RapidSegConfig(height=16, width=512, use_fuatten=False)), other)
    (other / "config.json").write_text((tmp_path / "config.json").read_text())
    with pytest.raises(ValueError, match="does not fit"):
        load_model(other)
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_model(tmp_path / "nowhere")


def test_crop_keeps_points_and_pixels_consistent(sim_frames):
    from sensors.geometry import SensorGeometry

    sample = make_sample(sim_frames[0], SMALL.rapid, geometry=SensorGeometry(16, 512, 15.0, -15.0))
    part = crop(sample, 500, 128)  # wraps around the seam
    row, column = np.divmod(part.pixel, 128)
    full_row, full_column = np.divmod(sample.pixel, 512)
    inside = (full_column - 500) % 512 < 128
    np.testing.assert_array_equal(part.points, sample.points[inside])
    np.testing.assert_array_equal(row, full_row[inside])
    np.testing.assert_array_equal(part.image[:, row, column], sample.image[:, row, (column + 500) % 512])
    np.testing.assert_array_equal(part.rapid[:, row, column], sample.rapid[:, row, (column + 500) % 512])


def test_class_centred_crops_show_a_rare_class_as_often_as_a_common_one():
    from sdk.segmentation.training.data import Sample, class_centred_start

    columns = np.concatenate([np.arange(900), np.full(40, 1500), np.full(10, 200)])  # 900 road, 40 rider, 10 stray
    labels = np.concatenate([np.full(900, 9), np.full(40, 7), np.full(10, 2)]).astype(np.int32)
    sample = Sample(np.zeros((4, 2, 2048), np.float32), np.zeros((3, 2, 2048), np.float32), columns,
                    np.zeros((950, 4), np.float32), labels)
    rng = np.random.default_rng(0)
    starts = np.array([class_centred_start(sample, 512, rng) for _ in range(400)])
    holds_rider = (1500 - starts) % 2048 < 512
    assert 0.4 < holds_rider.mean() < 0.6  # two classes qualify (the 10-point one does not): half each
    assert np.all((1500 - starts[holds_rider]) % 2048 == 256)  # centred on the rider's column
    assert class_centred_start(dataclasses.replace(sample, labels=np.zeros(950, np.int32)), 512, rng) is None


def test_class_crops_off_draws_random_crops_as_before(tmp_path):
    """class_crops=0 leaves the draws of earlier runs unchanged (one integer per crop); class_crops=1
    centres every crop on a labelled point."""
    from sdk.segmentation.training.data import SimFrames
    from sdk.segmentation.training.trainer import TrainConfig, Trainer

    frames = SimFrames(0, 5, 10, "hdl64e")
    sample = make_sample(frames.render(0, 0), RapidSegConfig().rapid)

    def trainer(class_crops: float) -> Trainer:
        config = TrainConfig(frames_per_step=1, crop_width=256, balance_frames=0, class_crops=class_crops)
        return Trainer(RapidSeg(RapidSegConfig()), frames, config, tmp_path)

    rng, same = np.random.default_rng(4), np.random.default_rng(4)
    assert [trainer(0.0).batches.crop_start(sample, rng) for _ in range(3)] == [int(same.integers(2048)) for _ in range(3)]
    centred, rng = trainer(1.0), np.random.default_rng(4)
    for _ in range(5):
        part = crop(sample, centred.batches.crop_start(sample, rng), 256)
        assert (part.labels[part.pixel % 256 == 128] > 0).any()  # a labelled point in the centre column
    with pytest.raises(ValueError, match="class_crops"):
        TrainConfig(class_crops=1.5)


@pytest.mark.slow
def test_a_tiny_run_learns(tmp_path, one_thread):
    """Overfitting two simulated frames: the loss falls, point accuracy and mIoU on them rise. (Class-balanced
    cross-entropy spends the first steps on rare classes, so 60 steps lift accuracy far more than mIoU.) On
    one thread, so the run is the same whatever the threads' timing (see `one_thread`)."""
    from sdk.segmentation.training.data import SimFrames
    from sdk.segmentation.training.evaluate import evaluate
    from sdk.segmentation.training.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    config = RapidSegConfig()
    frames = SimFrames(first_seed=11, seeds=1, frames=2, sensor="hdl64e")
    seen = [frames.render(11, i) for i in range(2)]
    model = RapidSeg(config)
    before = evaluate(model, seen)
    trainer = Trainer(model, frames, TrainConfig(steps=60, frames_per_step=1, crops_per_frame=2, checkpoint_every=1000,
                                                 learning_rate=3e-3), tmp_path)
    history = trainer.train(progress=False)
    first, last = np.mean([h["loss"] for h in history[:5]]), np.mean([h["loss"] for h in history[-5:]])
    assert last < 0.7 * first
    after = evaluate(model, seen)
    assert after.accuracy() > before.accuracy() + 0.25
    assert after.miou() > before.miou() + 0.04


def test_batches_are_reproducible_from_seed_and_step(tmp_path):
    from sdk.segmentation.training.data import KittiFrames, MixedFrames, SimFrames
    from sdk.segmentation.training.trainer import TrainConfig, Trainer

    from conftest import data_file

    frames = MixedFrames([(SimFrames(0, 5, 10, "hdl64e"), 1.0), (KittiFrames([data_file("semantickitti/sequences/00")]), 1.0)])
    trainer = Trainer(RapidSeg(RapidSegConfig()), frames, TrainConfig(frames_per_step=2, crop_width=256), tmp_path)
    first, again, other = trainer.batches.make(7), trainer.batches.make(7), trainer.batches.make(8)
    np.testing.assert_array_equal(first.points, again.points)
    np.testing.assert_array_equal(first.rapid, again.rapid)
    assert not np.array_equal(first.points[:100], other.points[:100])
    assert first.image.shape == (4, 4, 64, 256)  # two frames x two crops


@pytest.mark.slow
def test_worker_processes_make_the_batches_the_trainer_would(tmp_path, one_thread):
    """Batches made ahead in a worker process equal those made in place, so a run with workers trains
    to the same weights, bit for bit (on one thread, see `one_thread`)."""
    from sdk.segmentation.training.data import SimFrames
    from sdk.segmentation.training.trainer import TrainConfig, Trainer

    frames = SimFrames(0, 5, 10, "hdl64e")
    config = TrainConfig(steps=3, frames_per_step=1, crops_per_frame=2, crop_width=256, balance_frames=0,
                         class_crops=0.5, checkpoint_every=1000)

    def trained(workers: int) -> Trainer:
        torch.manual_seed(0)
        trainer = Trainer(RapidSeg(RapidSegConfig()), frames, config, tmp_path / str(workers), workers=workers)
        trainer.train(progress=False)
        return trainer

    in_place = trained(0)
    for step, batch in enumerate(in_place.batches.stream(0, 3, workers=1)):
        expected = in_place.batches.make(step)
        for name in ("image", "rapid", "pixel", "points", "labels"):
            np.testing.assert_array_equal(getattr(batch, name), getattr(expected, name))
    ahead = trained(1)
    assert [h["loss"] for h in ahead.history] == [h["loss"] for h in in_place.history]
    for key, value in float_state(in_place.model).items():
        torch.testing.assert_close(float_state(ahead.model)[key], value, rtol=0, atol=0)
    with pytest.raises(ValueError, match="workers"):
        Trainer(RapidSeg(RapidSegConfig()), frames, config, tmp_path, workers=-1)


@pytest.mark.gpu
def test_a_training_step_on_the_gpu_matches_the_cpu(tmp_path):
    """The same batch and weights give the same losses on CUDA as on the CPU (cuDNN's sums differ in
    order only), and the checkpoint it saves loads on the CPU."""
    from sdk.segmentation.training.data import SimFrames
    from sdk.segmentation.training.trainer import TrainConfig, Trainer

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the GPU training path runs on an NVIDIA machine only")
    frames = SimFrames(0, 5, 10, "hdl64e")
    config = TrainConfig(steps=1, frames_per_step=1, crop_width=256, balance_frames=4, checkpoint_every=1000)
    records = {}
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        trainer = Trainer(RapidSeg(RapidSegConfig()), frames, config, tmp_path / device, device=device)
        records[device] = trainer.advance()
        trainer.save()
    for term, value in records["cpu"].items():
        assert records["cuda"][term] == pytest.approx(value, rel=1e-3, abs=1e-5), term
    assert next(load_model(tmp_path / "cuda").parameters()).device.type == "cpu"


def test_remission_randomisation_touches_remission_only_and_only_when_asked(sim_frames):
    points = sim_frames[0].points
    plain, randomised = Augmentation(), Augmentation(**RANDOM_REMISSION)
    # off by default: the geometric draws, and so every earlier training run, are unchanged
    np.testing.assert_array_equal(plain.apply(points, np.random.default_rng(3))[:, 3], points[:, 3])
    out = randomised.apply(points, np.random.default_rng(3))
    np.testing.assert_array_equal(out, randomised.apply(points, np.random.default_rng(3)))  # seeded
    assert 0.0 <= out[:, 3].min() and out[:, 3].max() <= 1.0
    changed = np.abs(out[:, 3] - points[:, 3]) > 1e-6
    assert changed.mean() > 0.5
    zero_share = [(randomised.apply(points, np.random.default_rng(seed))[:, 3] == 0).mean() for seed in range(20)]
    assert max(zero_share) > 0.05 and min(zero_share) < 0.05  # a share drawn per frame, up to 15 %
    # coordinates get only the geometric augmentation: rotation and mirror keep ranges, scale is 0.95-1.05
    far = np.linalg.norm(points[:, :3], axis=1) > 5.0
    ratio = np.linalg.norm(out[far, :3], axis=1) / np.linalg.norm(points[far, :3], axis=1)
    assert np.ptp(ratio) < 0.02 and 0.94 < ratio.mean() < 1.06


def ema_trainer(run_dir, steps: int = 4, ema: float = 0.5):
    from sdk.segmentation.training.data import SimFrames
    from sdk.segmentation.training.trainer import TrainConfig, Trainer

    config = TrainConfig(steps=steps, frames_per_step=1, crops_per_frame=1, crop_width=256, balance_frames=0,
                         checkpoint_every=2, learning_rate=1e-2, ema=ema)
    frames = SimFrames(0, 5, 10, "hdl64e")
    torch.manual_seed(0)  # the same initial weights for every call
    return frames, config, Trainer(RapidSeg(RapidSegConfig()), frames, config, run_dir)


def float_state(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


def test_ema_follows_its_update_rule_and_is_saved_as_the_model(tmp_path):
    from safetensors.torch import load_file
    from sdk.segmentation.training.checkpoint import TRAINING_WEIGHTS

    _, _, trainer = ema_trainer(tmp_path)
    trainer.advance()
    first = float_state(trainer.model)
    trainer.advance()
    second = float_state(trainer.model)
    average = float_state(trainer.average.module)
    moved = [k for k in first if not torch.equal(first[k], second[k])]
    assert len(moved) > 20  # the step changed the weights, so the check below discriminates
    for key in first:  # decay 0.5: the first update copies, the second halves the difference
        torch.testing.assert_close(average[key], 0.5 * first[key] + 0.5 * second[key])
    trainer.save()
    saved, raw = load_model(tmp_path).state_dict(), load_file(str(tmp_path / TRAINING_WEIGHTS))
    for key in moved:
        torch.testing.assert_close(saved[key], average[key], rtol=0, atol=0)
        torch.testing.assert_close(raw[key], second[key], rtol=0, atol=0)


def test_an_ema_run_resumes_to_the_same_weights(tmp_path, one_thread):
    from sdk.segmentation.training.trainer import TrainConfig, Trainer

    _, _, whole = ema_trainer(tmp_path / "whole")
    whole.train(progress=False)
    frames, config, part = ema_trainer(tmp_path / "part")
    for _ in range(2):
        part.advance()
    part.save()
    resumed = Trainer.resume(tmp_path / "part", frames, config)
    assert resumed.step == 2 and int(resumed.average.n_averaged) == 2
    resumed.train(progress=False)
    for module in ("model", "average"):
        expected, got = float_state(getattr(whole, module)), float_state(getattr(resumed, module))
        for key in expected:
            torch.testing.assert_close(got[key], expected[key], rtol=0, atol=0)
    with pytest.raises(ValueError, match="ema 0.5"):
        Trainer.resume(tmp_path / "part", frames, dataclasses.replace(config, ema=0.0))
    with pytest.raises(ValueError, match="ema"):
        TrainConfig(ema=1.0)
