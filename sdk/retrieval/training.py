"""Embedding-to-embedding training of the BEBR binarizer on stored float embeddings (the model that made
them is never run or touched).

Modes:
- pairs (queries [N, d], docs [N, d], row i of each a pair): a symmetric contrastive loss over the codes'
  cosines (temperature ~0.05, in-batch negatives both ways) plus the same loss over each anchor's
  positive and its few hardest in-batch negatives;
- vectors (no pairs): the codes keep each vector's float neighbourhood: within a batch, the softmax of the
  codes' cosines is fitted to that of the float cosines (KL divergence);
- backward-compatible (either mode, `old=` a trained binarizer): the new query codes must also find
  their documents among the old binarizer's document codes, so an index built by the old binarizer
  serves the new one without re-encoding (BEBR's multi-version index).

A run starts from PyTorch's random weights, a fitted projection (`init`) or a trained binarizer (`start`:
fine-tuning). With a validation part (`validation_fraction` of the rows, kept out of training) every epoch,
and the start as epoch 0, is scored on it (its queries search its documents and the training documents);
the best epoch is the result and the run stops `patience` epochs after it, so a fine-tune that never helps
returns its start. An epoch is at least `min_steps_per_epoch` steps (a small task's rows are passed over
again), so a small task trains between scorings. Every epoch draws its order from (seed, epoch), so
`resume` continues a stopped run exactly; checkpoints are safetensors + JSON, written after every epoch."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from sdk.retrieval.binarizer import Binarizer
from sdk.retrieval.projection import fit_projection, initialise
from sdk.retrieval.settings import BinarizerConfig, BinarizerTraining, TrainingData
from sdk.checkpoint import CONFIG, WEIGHTS, load_training_state, save_training_state, save_weights

log = logging.getLogger("sdk.bebr")
MODES = ("pairs", "vectors")
#: the weights of the best epoch so far, while a run with a validation part goes on
BEST = "best.safetensors"
#: the fewest rows a validation part may have (recall@10 needs more than ten documents to mean anything)
MIN_VALIDATION = 20
#: rows encoded or scored at once on a validation part
SCORING_ROWS = 2048
#: the most query x document scores held at once when ranking a validation part's documents
SCORING_ELEMENTS = 1 << 25


def contrastive(queries: torch.Tensor, docs: torch.Tensor, temperature: float, hard: int) -> torch.Tensor:
    """Symmetric InfoNCE over unit vectors (row i of each a pair), plus InfoNCE over the hardest `hard` negatives."""
    logits = queries @ docs.T / temperature
    target = torch.arange(len(logits), device=logits.device)
    loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    if hard:
        loss = loss + (hardest(logits, hard) + hardest(logits.T, hard)) / 2
    return loss


def hardest(logits: torch.Tensor, hard: int) -> torch.Tensor:
    """InfoNCE of each row's positive (the diagonal) against its `hard` largest off-diagonal logits."""
    eye = torch.eye(len(logits), dtype=torch.bool, device=logits.device)
    negatives = logits.masked_fill(eye, float("-inf")).topk(hard, dim=1).values
    rows = torch.cat([logits.diagonal()[:, None], negatives], dim=1)
    return F.cross_entropy(rows, torch.zeros(len(rows), dtype=torch.long, device=logits.device))


def neighbourhood(codes: torch.Tensor, floats: torch.Tensor, temperature: float, teacher_temperature: float) -> torch.Tensor:
    """KL(softmax(float cosines) || softmax(code cosines)) per row, self excluded."""
    eye = torch.eye(len(codes), dtype=torch.bool, device=codes.device)
    student = (codes @ codes.T / temperature).masked_fill(eye, float("-inf"))
    teacher = (floats @ floats.T / teacher_temperature).masked_fill(eye, float("-inf"))
    return F.kl_div(F.log_softmax(student, dim=1).masked_fill(eye, 0.0), F.log_softmax(teacher, dim=1).masked_fill(eye, 0.0),
                    reduction="batchmean", log_target=True)


def unit_codes(model: Binarizer, embeddings: torch.Tensor) -> torch.Tensor:
    """The codes as unit vectors (differentiable through the straight-through sign)."""
    return F.normalize(model.levels(model(embeddings)), dim=-1)


def batch_loss(model: Binarizer, data: TrainingData, rows: np.ndarray, settings: BinarizerTraining,
               old: Binarizer | None) -> torch.Tensor:
    device = settings.device
    queries = torch.from_numpy(data.queries[rows]).to(device)
    query_codes = unit_codes(model, queries)
    if data.docs is None:
        loss = neighbourhood(query_codes, F.normalize(queries, dim=-1), settings.temperature, settings.teacher_temperature)
        docs = queries
    else:
        docs = torch.from_numpy(data.docs[rows]).to(device)
        doc_codes = unit_codes(model, docs)
        loss = contrastive(query_codes, doc_codes, settings.temperature, settings.hard_negatives)
        if settings.neighbourhood_weight:
            floats = F.normalize(torch.cat([queries, docs]), dim=-1)
            loss = loss + settings.neighbourhood_weight * neighbourhood(
                torch.cat([query_codes, doc_codes]), floats, settings.temperature, settings.teacher_temperature)
    if old is not None:
        with torch.no_grad():
            old_docs = unit_codes(old, docs)
        loss = loss + settings.compatible_weight * contrastive(query_codes, old_docs, settings.temperature,
                                                               settings.hard_negatives)
    return loss


def code_version(weights: Path) -> str:
    """The id of the code space a binarizer's weights define: an index stores it, queries must match it."""
    digest = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
    return f"bebr-{digest[:16]}"


def train_binarizer(data: TrainingData, out: Path, model_config: BinarizerConfig | None = None,
                    settings: BinarizerTraining = BinarizerTraining(), resume: bool = False,
                    old_checkpoint: Path | None = None, progress: bool = True, stop_after: int | None = None,
                    start: Path | None = None) -> Path:
    """Train into the checkpoint folder `out` (model.safetensors, config.json, optimizer state). `start`: a
    binarizer checkpoint to fine-tune (its shape is the model's). `stop_after` ends this call after that many
    epochs (checkpointed; `resume` continues the same schedule)."""
    from tqdm import tqdm

    out = Path(out)
    if resume and "result" in read_training_record(out)["training"]:  # finished: its best epoch is the result
        return out
    old = load_binarizer(old_checkpoint).to(settings.device).eval() if old_checkpoint else None
    initial = None if resume or start is None else load_binarizer(start)
    if resume:
        model_config = BinarizerConfig.from_dict(json.loads((out / CONFIG).read_text())["model"])
    elif initial is not None:
        model_config = _start_config(initial.config, model_config, settings, start)
    model_config = model_config or BinarizerConfig(dim=data.dim)
    if model_config.dim != data.dim:
        raise ValueError(f"the embeddings have {data.dim} dimensions, the binarizer config {model_config.dim}")
    if old is not None and old.config.layout != model_config.layout:
        raise ValueError(f"{old_checkpoint}: codes of {old.config.layout}, this binarizer makes {model_config.layout}; "
                         "a compatible binarizer keeps the old layout")
    data, validation = split_validation(data, settings)
    batch_size = min(settings.batch_size, len(data))  # a small task trains on all its pairs in one batch
    if batch_size <= settings.hard_negatives or batch_size < 2:
        raise ValueError(f"{len(data)} training rows are too few: a batch needs more than {settings.hard_negatives} "
                         "hard negatives and at least 2 rows")
    torch.manual_seed(settings.seed)
    model = Binarizer(model_config)
    if initial is not None:
        model.load_state_dict(initial.state_dict())
    elif settings.init != "random" and not resume:
        vectors = data.queries if data.docs is None else np.concatenate([data.queries, data.docs])
        initialise(model, fit_projection(vectors, model_config.bits, settings.init, settings.seed, settings.directions))
    model = model.to(settings.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    # the last partial batch is left out (batch norm needs many rows); a small set is passed over again
    batches = max(len(data) // batch_size, settings.min_steps_per_epoch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.learning_rate,
                                                   total_steps=max(1, settings.epochs * batches))
    first, history = 0, []
    if resume:
        model.load_state_dict(load_file(str(out / WEIGHTS), device=settings.device))
        state = load_training_state(out, optimizer)
        schedule.load_state_dict(state["schedule"])
        first, history = state["epoch"], state["history"]
    out.mkdir(parents=True, exist_ok=True)
    if validation is not None and not history:  # epoch 0: the start, a result the training must beat
        history.append({"epoch": 0, "validation": validation_scores(model.eval(), validation, settings.device, data.docs)})
        save_weights(model, out / BEST)
    last = settings.epochs if stop_after is None else min(settings.epochs, first + stop_after)
    if settings.epochs == 0:  # the fitted start is the binarizer
        _save(model.eval(), out, optimizer, schedule, 0, history, data, settings, old_checkpoint)
    stopped = False
    for epoch in range(first, last):
        if validation is not None and epoch - best_epoch(history) >= settings.patience:
            stopped = True
            break
        model.train()
        torch.manual_seed(settings.seed * 1000 + epoch)
        order = epoch_order(len(data), batches * batch_size, settings.seed, epoch)
        losses = []
        bar = tqdm(range(batches), desc=f"epoch {epoch + 1}/{settings.epochs}", disable=not progress, leave=False)
        for b in bar:
            loss = batch_loss(model, data, order[b * batch_size:(b + 1) * batch_size], settings, old)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses))})
        if validation is not None:
            history[-1]["validation"] = validation_scores(model.eval(), validation, settings.device, data.docs)
            if best_epoch(history) == epoch + 1:
                save_weights(model, out / BEST)
        log.info("epoch %d: %s", epoch + 1, history[-1])
        _save(model.eval(), out, optimizer, schedule, epoch + 1, history, data, settings, old_checkpoint)
    if validation is not None and (stopped or last == settings.epochs):  # done: the best epoch is the result
        model.load_state_dict(load_file(str(out / BEST), device=settings.device))
        (out / BEST).unlink()
        _save(model.eval(), out, optimizer, schedule, len(history) - 1, history, data, settings, old_checkpoint,
              result_epoch=best_epoch(history))
    return out


def epoch_order(rows: int, needed: int, seed: int, epoch: int) -> np.ndarray:
    """The rows an epoch trains on, in order: permutations drawn from (seed, epoch), one after another until
    `needed` (the first alone when the set fills the epoch, so a large set's run is unchanged by the minimum)."""
    rng = np.random.default_rng([seed, epoch])
    return np.concatenate([rng.permutation(rows) for _ in range(-(-needed // rows))])


def _start_config(config: BinarizerConfig, asked: BinarizerConfig | None, settings: BinarizerTraining,
                  start: Path) -> BinarizerConfig:
    """A fine-tune keeps its start's shape: a different one asked for, or a fitted init too, is a mistake."""
    if asked is not None and asked != config:
        raise ValueError(f"{start}: a binarizer of {config.layout}, hidden {config.hidden}; fine-tuning keeps its "
                         f"shape, and {asked.layout}, hidden {asked.hidden} was asked for")
    if settings.init != "random":
        raise ValueError(f"both a start ({start}) and init {settings.init!r}: give one")
    return config


def split_validation(data: TrainingData, settings: BinarizerTraining) -> tuple[TrainingData, TrainingData | None]:
    """The training rows and the validation part (validation_fraction of the rows, drawn with the seed)."""
    if settings.validation_fraction == 0:
        return data, None
    count = round(settings.validation_fraction * len(data))
    if count < MIN_VALIDATION:
        raise ValueError(f"a validation part of {count} rows ({settings.validation_fraction:g} of {len(data)}) is too "
                         f"small to stop on: at least {MIN_VALIDATION} needed")
    order = np.random.default_rng(settings.seed).permutation(len(data))
    return data.rows(np.sort(order[count:])), data.rows(np.sort(order[:count]))


def validation_scores(model: Binarizer, part: TrainingData, device: str,
                      distractors: np.ndarray | None = None) -> dict[str, float]:
    """Pairs: the rank of each query's document among the part's documents and the `distractors` (the
    training documents: the corpus a user's query searches) by the codes' cosine, ties to the lower index as
    the search breaks them; recall@1, recall@10 and the mean reciprocal rank, which is `score` (it still
    moves when the recalls of a small part are saturated). Vectors: overlap@10 of the codes' top-10 with the
    float top-10 among the part's vectors (itself excluded), `score` the same."""
    with torch.no_grad():
        query_codes = _codes_of(model, part.queries, device)
        if part.docs is None:
            overlap = _overlap_at_10(query_codes, F.normalize(torch.from_numpy(part.queries).to(device), dim=-1))
            return {"overlap@10": overlap, "score": overlap}
        docs = part.docs if distractors is None else np.concatenate([part.docs, distractors])
        doc_codes = _codes_of(model, docs, device)
        rows_at_once = max(1, SCORING_ELEMENTS // len(docs))
        ranks = torch.cat([_rank_of_pair(query_codes[rows], doc_codes, rows)
                           for rows in torch.arange(len(query_codes), device=device).split(rows_at_once)])
    recall = {f"recall@{k}": (ranks < k).double().mean().item() for k in (1, 10)}
    reciprocal = (1.0 / (ranks + 1)).double().mean().item()
    return {**recall, "mrr": reciprocal, "score": reciprocal}


def _codes_of(model: Binarizer, vectors: np.ndarray, device: str) -> torch.Tensor:
    """Unit-norm codes of `vectors`, SCORING_ROWS at a time (a whole corpus at once would hold its activations)."""
    return torch.cat([unit_codes(model, torch.from_numpy(chunk).to(device))
                      for chunk in np.array_split(vectors, -(-len(vectors) // SCORING_ROWS))])


def _rank_of_pair(queries: torch.Tensor, docs: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """How many documents come before each query's own (document `rows[i]` of query i)."""
    scores = queries @ docs.T
    own = scores.gather(1, rows[:, None])
    lower = torch.arange(len(docs), device=docs.device)[None, :] < rows[:, None]
    return (scores > own).sum(dim=1) + ((scores == own) & lower).sum(dim=1)


def _overlap_at_10(codes: torch.Tensor, floats: torch.Tensor) -> float:
    shared = []
    for rows in torch.arange(len(codes), device=codes.device).split(SCORING_ROWS):
        itself = torch.zeros(len(rows), len(codes), dtype=torch.bool, device=codes.device)
        itself[torch.arange(len(rows)), rows] = True
        code_top = (codes[rows] @ codes.T).masked_fill(itself, float("-inf")).topk(10, dim=1).indices
        float_top = (floats[rows] @ floats.T).masked_fill(itself, float("-inf")).topk(10, dim=1).indices
        shared.append((code_top[:, :, None] == float_top[:, None, :]).any(dim=2).sum(dim=1))
    return torch.cat(shared).double().mean().item() / 10


def best_epoch(history: list[dict]) -> int:
    """The epoch of the highest validation score (ties to the earlier; 0 is the start)."""
    scored = [entry for entry in history if "validation" in entry]
    return max(scored, key=lambda entry: (entry["validation"]["score"], -entry["epoch"]))["epoch"]


def _save(model, out, optimizer, schedule, epoch, history, data, settings, old_checkpoint,
          result_epoch: int | None = None) -> None:
    save_weights(model, out / WEIGHTS)
    training = {**asdict(settings), "mode": data.mode, "rows": len(data), "epochs_done": epoch, "history": history}
    if result_epoch is not None:  # stopped on a validation part: the weights are those of this epoch
        training["result"] = {"epoch": result_epoch, **next(e["validation"] for e in history if e["epoch"] == result_epoch)}
    record = {"model": json.loads(model.config.to_json()), "code_version": code_version(out / WEIGHTS),
              "training": training,
              "compatible_with": [read_code_version(old_checkpoint)] if old_checkpoint else []}
    (out / CONFIG).write_text(json.dumps(record, indent=2) + "\n")
    save_training_state(out, optimizer, {"epoch": epoch, "history": history, "schedule": schedule.state_dict()})


def read_training_record(checkpoint: Path) -> dict:
    """config.json of a binarizer checkpoint: model config, code version, training settings, compatibility."""
    path = Path(checkpoint) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (a binarizer checkpoint holds {WEIGHTS} and {CONFIG})")
    return json.loads(path.read_text())


def read_code_version(checkpoint: Path) -> str:
    return read_training_record(checkpoint)["code_version"]


def load_binarizer(checkpoint: Path) -> Binarizer:
    """A trained binarizer from its checkpoint folder (safetensors: nothing is unpickled)."""
    checkpoint = Path(checkpoint)
    for name in (WEIGHTS, CONFIG):
        if not (checkpoint / name).is_file():
            raise FileNotFoundError(f"{checkpoint / name}: missing (a binarizer checkpoint holds {WEIGHTS} and {CONFIG})")
    model = Binarizer(BinarizerConfig.from_dict(json.loads((checkpoint / CONFIG).read_text())["model"]))
    missing, unexpected = model.load_state_dict(load_file(str(checkpoint / WEIGHTS)), strict=False)
    if missing or unexpected:
        raise ValueError(f"{checkpoint / WEIGHTS}: does not fit the config (missing {missing[:5]}, unexpected {unexpected[:5]})")
    return model.eval()

