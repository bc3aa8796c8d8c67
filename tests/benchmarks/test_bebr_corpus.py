"""The docstring corpus: which docstrings make pairs, which licences are read, and the fixed held-out rule."""
from __future__ import annotations

import sys
from email.message import Message
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bebr_corpus import HELD_OUT_SHARE, Pair, licence_of, split_docstring  # noqa: E402


@pytest.mark.parametrize("docstring, pair", [
    ("Return the sum of two numbers.\n\n    Both are converted to float first, and the result is rounded to the\n"
     "    given number of digits when digits is not None.",
     ("Return the sum of two numbers.", "Both are converted to float first, and the result is rounded to the "
                                         "given number of digits when digits is not None.")),
    ("Summary that wraps\n    onto a second line of words.\n\nBody with enough words to count as a document for "
     "the corpus here.", ("Summary that wraps onto a second line of words.",
                          "Body with enough words to count as a document for the corpus here.")),
    ("One paragraph only, however long it may be, has no body to pair with.", None),
    ("Too short.\n\nBody with enough words to count as a document for the corpus here.", None),
    ("A summary of enough words.\n\nToo short a body.", None),
])
def test_docstrings_split_into_summary_and_body(docstring, pair):
    assert split_docstring(docstring) == pair


class FakeDistribution:
    def __init__(self, **fields) -> None:
        self.metadata = Message()
        for key, value in fields.items():
            for item in value if isinstance(value, list) else [value]:
                self.metadata[key.replace("_", "-")] = item


@pytest.mark.parametrize("fields, permitted", [
    ({"License_Expression": "MIT"}, True),
    ({"Classifier": ["License :: OSI Approved :: BSD License"]}, True),
    ({"License": "Apache Software License 2.0"}, True),
    ({"License_Expression": "MPL-2.0"}, False),
    ({"License_Expression": "LGPL-2.1-or-later"}, False),
    ({"License": "MIT OR GPL-3.0"}, False),  # any restrictive part keeps it out
    ({}, False),  # no licence stated: left out
])
def test_only_permissive_licences_are_read(fields, permitted):
    assert (licence_of(FakeDistribution(**fields)) is not None) == permitted


def test_the_held_out_part_depends_on_the_document_alone():
    pairs = [Pair(f"query {i}", f"document number {i}", "x") for i in range(2000)]
    assert all(p.held_out == Pair("other", p.document, "y").held_out for p in pairs)
    share = sum(p.held_out for p in pairs) / len(pairs)
    assert abs(share - 1 / HELD_OUT_SHARE) < 0.03
