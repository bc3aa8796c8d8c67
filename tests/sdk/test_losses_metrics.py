"""Losses and metrics against small cases worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sdk.segmentation.training import losses
from runtimes.metrics import ConfusionMatrix
from sensors.labels import SEMANTIC_KITTI


def test_cross_entropy_ignores_label_zero():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]])
    labels = torch.tensor([1, 1, 0])  # ids 1..2 -> classes 0..1; id 0 ignored
    expected = (-math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(1 / (1 + math.exp(2)))) / 2
    assert losses.cross_entropy(logits, labels).item() == pytest.approx(expected, rel=1e-5)


def test_lovasz_softmax_on_a_hand_case():
    # two points, two classes, probabilities exactly 1/0: perfect prediction -> 0, swapped -> 1
    perfect = torch.tensor([[10.0, -10.0], [-10.0, 10.0]])
    labels = torch.tensor([1, 2])
    assert losses.lovasz_softmax(perfect, labels).item() == pytest.approx(0.0, abs=1e-4)
    assert losses.lovasz_softmax(-perfect, labels).item() == pytest.approx(1.0, abs=1e-4)
    # one class, errors (0.5, 0.25) sorted: gradient of the Jaccard loss (1/2, 1/2) -> 0.375
    probabilities = torch.log(torch.tensor([[0.5, 0.5], [0.75, 0.25]]))
    assert losses.lovasz_softmax(probabilities, torch.tensor([1, 1])).item() == pytest.approx(0.375, abs=1e-5)
    assert losses.lovasz_softmax(perfect, torch.tensor([0, 0])).item() == 0.0


def test_reconstruction_is_relative_to_the_variance_of_valid_pixels():
    target = torch.tensor([[[[0.0, 2.0, 9.0]]]])
    valid = torch.tensor([[[[1.0, 1.0, 0.0]]]])
    mean_prediction = torch.tensor([[[[1.0, 1.0, 0.0]]]])
    assert losses.reconstruction(mean_prediction, target, valid).item() == pytest.approx(1.0)
    assert losses.reconstruction(target, target, valid).item() == 0.0


def test_class_aware_embedding_by_hand():
    e = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    labels = torch.tensor([1, 1, 2, 2])
    # anchor 0: P = 1 (s=1), N = best of {2: 0, 3: 0.6} = 0.6 -> 0 + 0.1
    # anchor 1: same as 0 -> 0.1; anchor 2: P = 3 (s=0.8) -> 0.1, N = best of {0,1}: 0 -> 0
    # anchor 3: P = 2 (s=0.8) -> 0.1, N = 0.6 -> 0.1
    expected = (0.1 + 0.1 + 0.1 + 0.2) / 4
    assert losses.class_aware_embedding(e, labels).item() == pytest.approx(expected, abs=1e-6)
    lonely = losses.class_aware_embedding(e[:2], labels[:2])
    assert lonely.item() == 0.0  # no other class: no anchor counts


def test_class_aware_gradient_flows_through_the_chosen_pairs():
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]], requires_grad=True)
    losses.class_aware_embedding(e, torch.tensor([1, 1, 2])).backward()
    assert e.grad is not None and e.grad.abs().sum() > 0


def test_confusion_matrix_and_iou_by_hand():
    confusion = ConfusionMatrix(SEMANTIC_KITTI)
    truth = np.array([1, 1, 1, 9, 9, 0, 13])
    prediction = np.array([1, 9, 1, 9, 1, 5, 13])
    confusion.add(truth, prediction)
    iou = confusion.iou()
    # car: TP 2, FP 1 (a road point), FN 1 -> 2/4; road: TP 1, FP 1, FN 1 -> 1/3; building: 1
    assert iou["car"] == pytest.approx(0.5)
    assert iou["road"] == pytest.approx(1 / 3)
    assert iou["building"] == 1.0
    assert iou["bicycle"] is None  # appears nowhere
    # the reference evaluator's mean counts all 19 classes, the 16 absent ones as 0; the other mean is labelled
    assert confusion.miou() == pytest.approx((0.5 + 1 / 3 + 1.0) / 19)
    assert confusion.miou_present() == pytest.approx((0.5 + 1 / 3 + 1.0) / 3)
    assert confusion.report()["miou_present"] == confusion.miou_present()
    assert confusion.accuracy() == pytest.approx(4 / 6)  # the ignore-labelled point does not count
    assert "mIoU" in confusion.table()
    with pytest.raises(ValueError):
        confusion.add(truth, prediction[:3])
