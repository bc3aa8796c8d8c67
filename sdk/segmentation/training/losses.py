"""RAPiD-Seg's losses: cross-entropy + Lovasz-softmax for segmentation, MSE reconstruction for the
autoencoder, and the class-aware embedding loss that pulls same-class codes together."""
from __future__ import annotations

import torch
from torch.nn import functional as F

IGNORE = 0  # label 0 is "ignore" everywhere in the SDK


def segmentation_targets(labels: torch.Tensor) -> torch.Tensor:
    """Training ids 1..C -> class indices 0..C-1, ignore -> -1."""
    return labels.long() - 1


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    return F.cross_entropy(logits, segmentation_targets(labels), weight=weight, ignore_index=-1)


def lovasz_softmax(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Lovasz-softmax (Berman et al., CVPR 2018) over the classes present, ignoring label 0."""
    keep = labels != IGNORE
    if not keep.any():
        return logits.sum() * 0.0
    probabilities = torch.softmax(logits[keep], dim=1)
    targets = segmentation_targets(labels[keep])
    losses = []
    for c in torch.unique(targets).tolist():
        foreground = (targets == c).to(probabilities.dtype)
        errors = (foreground - probabilities[:, c]).abs()
        errors_sorted, order = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, _lovasz_gradient(foreground[order])))
    return torch.stack(losses).mean()


def _lovasz_gradient(sorted_foreground: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovasz extension of the Jaccard loss w.r.t. sorted errors."""
    total = sorted_foreground.sum()
    intersection = total - sorted_foreground.cumsum(0)
    union = total + (1.0 - sorted_foreground).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1].clone()
    return jaccard


def reconstruction(reconstructed: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """MSE over the pixels that hold a return, relative to the target's variance there: RAPiD values
    crowd near zero, so a plain MSE is tiny even for a decoder that only predicts the mean (which scores 1)."""
    weight = valid.expand_as(target)
    count = weight.sum().clamp(min=1.0)
    mse = ((reconstructed - target) ** 2 * weight).sum() / count
    mean = (target * weight).sum() / count
    variance = (((target - mean) ** 2) * weight).sum() / count
    return mse / variance.detach().clamp(min=1e-8)


def class_aware_embedding(embeddings: torch.Tensor, labels: torch.Tensor, alpha_positive: float = 0.9,
                          alpha_negative: float = 0.5) -> torch.Tensor:
    """mean over anchors of ReLU(alpha_p - s(i, P(i))) + ReLU(s(i, N(i)) - alpha_n), s the cosine
    similarity, P(i) the most similar other anchor of i's class, N(i) the most similar of another class.
    Anchors without both a same-class and an other-class partner do not count."""
    if len(labels) < 2:
        return embeddings.sum() * 0.0
    normalised = F.normalize(embeddings, dim=1)
    with torch.no_grad():  # choose P(i) and N(i); the gradient of a max flows through its argmax only
        similarity = normalised @ normalised.T
        same = labels[:, None] == labels[None, :]
        itself = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        lowest = torch.finfo(similarity.dtype).min
        positive_score, positive = torch.where(same & ~itself, similarity, lowest).max(dim=1)
        negative_score, negative = torch.where(~same, similarity, lowest).max(dim=1)
        usable = (positive_score > lowest) & (negative_score > lowest)
    if not usable.any():
        return embeddings.sum() * 0.0
    anchor = normalised[usable]
    s_positive = (anchor * normalised[positive[usable]]).sum(dim=1)
    s_negative = (anchor * normalised[negative[usable]]).sum(dim=1)
    return (F.relu(alpha_positive - s_positive) + F.relu(s_negative - alpha_negative)).mean()
