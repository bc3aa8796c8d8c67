"""The retrieval domains of the task-agnostic BEBR protocol: what each reader turns into pairs (man pages
through troff, README and documentation sections through their markup, Debian descriptions through dpkg's
status file), which licences are recorded, and what the built corpus holds."""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bebr_domains  # noqa: E402
from bebr_corpus import Pair  # noqa: E402

BODY = "It reads every file given on its command line and writes a compressed copy beside each of them."


def test_a_man_page_gives_its_name_description_and_its_description_text(tmp_path):
    page = tmp_path / "squash.1.gz"
    page.write_bytes(gzip.compress(("\n".join([
        '.TH SQUASH 1', '.SH NAME', r'squash, unsquash \- compress or expand files quickly', '.SH SYNOPSIS',
        r'.B squash', r'[\fB\-v\fR]', '.SH DESCRIPTION', 'The', '.B squash', r'command reads every file given on its',
        r'command line \(em and writes a compressed copy beside each of them (see \s-1GZIP\s0\|(1)).', '.PP',
        '.SH OPTIONS', 'none']) + "\n").encode()))
    query, document = bebr_domains.man_page_pair(page)
    assert query == "compress or expand files quickly"
    assert document == ("The squash command reads every file given on its command line ' and writes a compressed "
                        "copy beside each of them (see GZIP(1)).")
    page.write_bytes(gzip.compress(b".TH X 1\n.SH NAME\nx\n.SH DESCRIPTION\nno dash in its name line\n"))
    assert bebr_domains.man_page_pair(page) is None


def test_documentation_sections_keep_prose_and_drop_markup():
    text = "\n".join(["Project", "=======", "", "[![badge](https://x/b.svg)](https://x)", "",
                      "## Making an index of every document", "", "<p align=center>", f"**{BODY}** [More](https://x).",
                      "```", "code = 1", "```", "", "Short", "-----", "", "Too few words here."])
    assert list(bebr_domains.section_pairs(text)) == [("Making an index of every document", f"{BODY} More.")]


def test_debian_descriptions_and_licences_come_from_dpkg(tmp_path, monkeypatch):
    status = tmp_path / "status"
    status.write_text("Package: squash\nStatus: install ok installed\nVersion: 1.2-3\nDescription: compress or expand "
                      "files quickly\n It reads every file given on its command line\n .\n and writes a compressed "
                      "copy beside each of them, keeping times.\n\nPackage: gone\nStatus: deinstall ok config-files\n"
                      "Version: 1\nDescription: a package that was removed long ago\n its text is not read at all.\n")
    (tmp_path / "doc" / "squash").mkdir(parents=True)
    (tmp_path / "doc" / "squash" / "copyright").write_text("Files: *\nLicense: Expat\n\nFiles: debian/*\nLicense: GPL-2+\n")
    monkeypatch.setattr(bebr_domains, "DPKG_STATUS", status)
    monkeypatch.setattr(bebr_domains, "DOC_ROOT", tmp_path / "doc")
    pairs, sources = bebr_domains.debian_description_pairs()
    assert pairs == [Pair("compress or expand files quickly", "It reads every file given on its command line and "
                          "writes a compressed copy beside each of them, keeping times.", "squash")]
    assert [(s.name, s.version, s.licence) for s in sources] == [("squash", "1.2-3", "Expat, GPL-2+")]


def test_the_corpus_holds_each_domain_with_enough_pairs_and_names_those_left_out(tmp_path, monkeypatch):
    def pairs_of(domain: str, count: int):
        return lambda: ([Pair(f"{domain} query number {i} in words", f"{domain} document {i} {BODY}", "src")
                         for i in range(count)], [bebr_domains.DomainSource("src", "1", "MIT")])

    readers = {name: pairs_of(name, {"package-docs": 5, "docstrings": 20}.get(name, 12)) for name in bebr_domains.DOMAINS}
    monkeypatch.setattr(bebr_domains, "READERS", readers)
    monkeypatch.setattr(bebr_domains, "MIN_PAIRS", 10)
    monkeypatch.setattr(bebr_domains, "MAX_PAIRS", 12)  # docstrings keeps the 12 of smallest document key
    monkeypatch.setattr(bebr_domains, "embed", lambda texts: np.random.default_rng(len(texts)).standard_normal(
        (len(texts), 384)).astype(np.float32))
    record = bebr_domains.build_domains(tmp_path / "domains.npz")
    kept = [name for name in bebr_domains.DOMAINS if name != "package-docs"]
    assert record["left_out"] == {"package-docs": 5} and list(record["pairs"]) == kept
    assert json.loads((tmp_path / "domains.json").read_text()) == record
    with np.load(tmp_path / "domains.npz") as arrays:
        for name in kept:
            assert arrays[f"{name}_queries"].shape == arrays[f"{name}_docs"].shape == (12, 384)
            assert arrays[f"{name}_queries"].dtype == np.float16 and arrays[f"{name}_validation"].shape == (12,)
            assert len(set(arrays[f"{name}_keys"].tolist())) == 12  # one key per document
        assert "package-docs_queries" not in arrays
        docstrings, _ = readers["docstrings"]()
        smallest = sorted(bebr_domains.document_key(p) for p in docstrings)[:12]
        assert sorted(arrays["docstrings_keys"].tolist()) == smallest
