"""`rapid-edge bebr`: train a binarizer into a package, index documents, search, and declare compatible
versions (the docstring corpus and the speed benchmark are scripts in benchmarks/). Flags mirror the Python arguments
(BinarizerConfig, BinarizerTraining, Pipeline("bebr", k=...)); PKG may be the word `default`."""
from __future__ import annotations

import argparse
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np

from runtimes.bebr_index import SEARCH_RUNTIMES, BinaryIndex, IndexInfo
from runtimes.embeddings import EmbeddingError, check_embeddings, load_embeddings
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.package import Package, load_package
from sensors.source import require_module

from sdk.checkpoint import OPTIMIZER, STATE
from sdk.options import SearchOptions
from sdk.retrieval.settings import DEFAULT_BINARIZER, RECIPES, BinarizerConfig, BinarizerTraining, Recipe, TrainingData
from sdk.retrieval.steps import BinarizerInfo, encode_all

CHECKPOINT = "checkpoint"  # the training checkpoint inside a package made by `bebr train`
#: the binarizer's shape on the command line: (flag, type, help)
SHAPE_FLAGS = (("bits", int, "m, bits per plane"), ("planes", int, "u + 1 bit-planes"),
               ("hidden", int, "MLP width (0: linear transforms)"), ("dropout", float, "after each MLP block's ReLU"))


def add_parser(commands: argparse._SubParsersAction) -> None:
    bebr = commands.add_parser("bebr", help="binary embedding retrieval: train, index, search, declare")
    verbs = bebr.add_subparsers(dest="verb", required=True)

    train = verbs.add_parser("train", help="train a binarizer on stored float embeddings; writes a model package")
    data = train.add_mutually_exclusive_group(required=True)
    data.add_argument("--pairs", type=Path, help=".npz with float arrays `queries` and `docs` [N, d], row i a pair")
    data.add_argument("--vectors", type=Path, help=".npy [N, d] without pairs: keep each vector's float neighbourhood")
    data.add_argument("--corpus", type=Path, help="a corpus .npz with `train_queries` and `train_docs` (as "
                      "benchmarks/bebr_corpus.py builds the docstring corpus)")
    train.add_argument("--out", type=Path, required=True, help="package folder (the checkpoint goes in OUT/checkpoint)")
    train.add_argument("--start", default=None, metavar="PKG",
                       help="a binarizer package or checkpoint to fine-tune, `default` (the shipped one) or `none` "
                            f"(start from --init){_recipe_defaults('start')}")
    for name, kind, text in SHAPE_FLAGS:
        train.add_argument(f"--{name}", type=kind, default=None, help=text + _recipe_defaults(name))
    for setting in fields(BinarizerTraining):  # every training setting, by its own name and help
        train.add_argument(f"--{setting.name.replace('_', '-')}", type=type(setting.default), default=None,
                           choices=setting.metadata["choices"], help=setting.metadata["help"] + _recipe_defaults(setting.name))
    train.add_argument("--resume", action="store_true", help="continue the checkpoint in OUT/checkpoint")
    train.add_argument("--compatible-with", default=None, metavar="OLD",
                       help="a binarizer package (or checkpoint, or `default`) whose index the new queries must search")
    train.add_argument("--json", action="store_true", help="print the report as JSON")
    train.set_defaults(run=run_train)

    index = verbs.add_parser("index", help="encode documents into an index file (or change one)")
    index.add_argument("package", help="binarizer package folder, or `default`")
    index.add_argument("--embeddings", type=Path, help="documents .npy [N, d] (float16/float32)")
    index.add_argument("--ids", type=Path, default=None, help=".npy of int ids, one per row (default: row numbers)")
    index.add_argument("--out", type=Path, required=True, help="index file to write (or to change with --add/--remove)")
    index.add_argument("--add", action="store_true", help="add the embeddings to the existing index OUT")
    index.add_argument("--remove", type=Path, default=None, metavar="IDS.npy", help="remove these ids from OUT")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.set_defaults(run=run_index)

    search = verbs.add_parser("search", help="top-k documents of each query")
    search.add_argument("package", help="binarizer package folder, or `default`")
    search.add_argument("index", type=Path)
    search.add_argument("--queries", type=Path, required=True, help=".npy [Q, d] (float16/float32)")
    search.add_argument("--k", type=int, default=SearchOptions.k, help="documents returned per query")
    search.add_argument("--search-runtime", choices=SEARCH_RUNTIMES, default=SearchOptions.runtime,
                        help="numba kernel, or the rapid::BinarySearch node in ONNX Runtime (the same results)")
    search.add_argument("--out", type=Path, required=True, help=".npz with `indices` (document ids) and `scores` [Q, k]")
    search.add_argument("--json", action="store_true", help="print the report as JSON")
    search.set_defaults(run=run_search)

    declare = verbs.add_parser("declare", help="let a backward-compatible binarizer's queries search an index")
    declare.add_argument("index", type=Path)
    declare.add_argument("package", help="the newer binarizer package")
    declare.add_argument("--force", action="store_true", help="declare even if the package was not trained for it")
    declare.add_argument("--json", action="store_true", help="print the report as JSON")
    declare.set_defaults(run=run_declare)


def _recipe_defaults(name: str) -> str:
    """` (default: vectors X, pairs Y)`: what each mode's recipe sets `name` to."""
    def value(recipe: Recipe):
        if name == "start":
            return recipe.start or "none"
        if name in BinarizerTraining.__dataclass_fields__:
            return getattr(recipe.training, name)
        return getattr(recipe.config, name) if recipe.config else "the start's"

    return " (default: " + ", ".join(f"{mode} {value(recipe)}" for mode, recipe in RECIPES.items()) + ")"


def open_binarizer(name: str) -> Package:
    """A package folder, or the binarizer that ships with the SDK."""
    from sdk.shipped import shipped_package

    return load_package(shipped_package("bebr") if name == DEFAULT_BINARIZER else Path(name))


def _checkpoint_of(name: str) -> Path:
    """A checkpoint folder, or the one inside a package made by `bebr train` (`default`: the shipped one's)."""
    from sdk.shipped import shipped_package

    path = shipped_package("bebr") if name == DEFAULT_BINARIZER else Path(name)
    return path / CHECKPOINT if (path / CHECKPOINT / "config.json").is_file() else path


def _training_data(args: argparse.Namespace) -> TrainingData:
    if args.vectors:
        return TrainingData(load_embeddings(args.vectors))
    if args.corpus:
        return _pairs(args.corpus, "train_queries", "train_docs")
    return _pairs(args.pairs, "queries", "docs")


def _pairs(path: Path, queries: str, docs: str) -> TrainingData:
    """Row i of `queries` and of `docs` in an .npz make a pair."""
    if not path.is_file():
        raise EmbeddingError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return TrainingData(check_embeddings(arrays[queries], f"{path}: {queries}"),
                                check_embeddings(arrays[docs], f"{path}: {docs}"))
    except KeyError as err:
        raise EmbeddingError(f"{path}: needs arrays `{queries}` and `{docs}` ({err})") from err
    except (ValueError, OSError) as err:
        raise EmbeddingError(f"{path}: not a NumPy .npz ({err})") from err


def run_train(args: argparse.Namespace) -> dict:
    require_module("torch", "bebr train", "export")
    from sdk.retrieval.exporting import export_binarizer
    from sdk.retrieval.training import read_training_record, train_binarizer

    data = _training_data(args)
    recipe = RECIPES[data.mode]
    settings = replace(recipe.training, **_given(args, BinarizerTraining.__dataclass_fields__))
    start = args.start or recipe.start
    start = None if start in (None, "none") or args.resume else _checkpoint_of(start)
    config = _shape(args, recipe, data.dim, start)
    checkpoint = args.out / CHECKPOINT
    old = _checkpoint_of(args.compatible_with) if args.compatible_with else None
    train_binarizer(data, checkpoint, None if args.resume else config, settings, resume=args.resume, old_checkpoint=old,
                    start=start)
    drop_optimizer_state(checkpoint)  # the run is complete: the package keeps its weights and record
    package = export_binarizer(checkpoint, args.out, parity_embeddings=data.queries[:4096])
    info = BinarizerInfo.of(package)
    training = read_training_record(checkpoint)["training"]
    print(f"wrote {package.folder}: {info.layout.planes} planes of {info.layout.bits} bits "
          f"({info.layout.code_bytes} bytes a vector), code version {info.code_version}")
    for line in curve_lines(training):
        print(line)
    return {"package": str(package.folder), "code_version": info.code_version, "layout": asdict(info.layout),
            "started_from": str(start) if start else settings.init, "history": training["history"],
            "result": training.get("result")}


def _given(args: argparse.Namespace, names) -> dict:
    """The settings among `names` given on the command line (the rest come from the recipe)."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _shape(args: argparse.Namespace, recipe: Recipe, dim: int, start: Path | None) -> BinarizerConfig | None:
    """The binarizer's shape: the start's (flags must agree with it), else the recipe's or the defaults, with
    the flags given."""
    given = _given(args, [name for name, _, _ in SHAPE_FLAGS])
    if start is not None:
        from sdk.retrieval.training import read_training_record

        shape = BinarizerConfig.from_dict(read_training_record(start)["model"])
        if shape.dim != dim:
            raise EmbeddingError(f"the embeddings have {dim} dimensions and the start {start} takes {shape.dim}: "
                                 "give --start none (and a shape) to train one for them")
        return replace(shape, **given) if given else None
    return replace(recipe.config or BinarizerConfig(), dim=dim, **given)


def curve_lines(training: dict) -> list[str]:
    """The training curve as a user reads it: loss and validation scores per epoch, and the epoch kept."""
    lines = []
    for entry in training["history"]:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in entry.get("validation", {}).items() if k != "score")
        loss = f"loss {entry['loss']:.4f}" if "loss" in entry else "the start"
        lines.append(f"  epoch {entry['epoch']:>3}: {loss}" + (f"; validation {scores}" if scores else ""))
    result = training.get("result")
    if result:
        lines.append(f"  kept epoch {result['epoch']} (best on {round(training['validation_fraction'] * 100)} % of the "
                     f"rows kept out of training)")
    return lines


def run_index(args: argparse.Namespace) -> dict:
    package = open_binarizer(args.package)
    info = BinarizerInfo.of(package)
    if args.add or args.remove:
        index = BinaryIndex.load(args.out)
        index.check_version(info.code_version)
    else:
        index = BinaryIndex(IndexInfo(info.layout, info.code_version, info.package_sha256))
    if args.remove:
        index.remove(np.load(args.remove, allow_pickle=False))
    if args.embeddings:
        embeddings = load_embeddings(args.embeddings, info.dim)
        ids = np.load(args.ids, allow_pickle=False) if args.ids else None
        with OnnxRuntimeRunner(package) as runner:
            codes, norms = encode_all(runner, embeddings, info.dim)
        if ids is None and not (args.add or args.remove):
            ids = np.arange(len(codes), dtype=np.int64)
        index.add(codes, norms, ids)
    elif not args.remove:
        raise ValueError("nothing to do: give --embeddings (to build or --add) or --remove")
    index.save(args.out)
    print(f"wrote {args.out}: {len(index)} documents, {info.layout.code_bytes} bytes of code each")
    return {"index": str(args.out), "documents": len(index), "code_version": index.info.code_version}


def run_search(args: argparse.Namespace) -> dict:
    from sdk.pipeline import Pipeline

    queries = load_embeddings(args.queries)
    # warmed up on opening: the kernels' compilation is reported as warm-up, not as the search's time
    with Pipeline("bebr", "onnxruntime-cpu", open_binarizer(args.package).folder,
                  search=SearchOptions(index=args.index, k=args.k, runtime=args.search_runtime)) as pipeline:
        result = pipeline(queries)
        warmup = pipeline.warmup_timings
    np.savez(args.out, indices=result.ids, scores=result.scores)
    print(f"wrote {args.out}: top {args.k} of {len(queries)} queries ({', '.join(f'{k} {v:.1f} ms' for k, v in result.timings.items())}; "
          f"warm-up {sum(warmup.values()):.0f} ms)")
    return {"results": str(args.out), "queries": len(queries), "k": args.k, "timings_ms": result.timings,
            "warmup_ms": warmup}


def run_declare(args: argparse.Namespace) -> dict:
    index = BinaryIndex.load(args.index)
    info = BinarizerInfo.of(open_binarizer(args.package))
    if index.info.code_version not in info.compatible_with and not args.force:
        raise ValueError(f"{args.package} was not trained compatible with {index.info.code_version} (it declares "
                         f"{', '.join(info.compatible_with) or 'none'}); retrain with --compatible-with, or --force")
    index.declare_compatible(info.code_version)
    index.save(args.index)
    print(f"{args.index}: queries of {info.code_version} may now search it")
    return {"index": str(args.index), "compatible_versions": index.info.compatible_versions}


def drop_optimizer_state(checkpoint: Path) -> None:
    """What only resuming an interrupted run needs; a finished run's package keeps weights and record."""
    for name in (OPTIMIZER, STATE):
        (checkpoint / name).unlink(missing_ok=True)
