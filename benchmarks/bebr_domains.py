"""Several retrieval domains from text every machine of ours has offline, for judging binary codes on domains
they were never trained on (the protocol "A task-agnostic default" in sdk/weights/bebr/TRAINING.md):

- docstrings: third-party Python distributions under permissive licences (bebr_corpus.py's pairs);
- stdlib: CPython's standard library docstrings (PSF), tests excluded;
- package-docs: of those distributions, the Summary and the README's start, and each Markdown or
  reStructuredText section heading and the text under it;
- man-pages: English man pages of sections 1, 5 and 8 (NAME's description, DESCRIPTION's start);
- debian-descriptions: installed Debian packages' short and extended descriptions.

The first three are permissively licensed and may be trained on; the last two carry their Debian packages'
licences (recorded per package) and are only scored. Written by hand because no library turns man pages,
README files and Debian descriptions into retrieval pairs.

    python benchmarks/bebr_domains.py [--out PATH]      # OUT.npz: <domain>_queries/_docs/_validation, OUT.json
"""
from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import importlib.metadata as metadata
import json
import re
import sysconfig
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bebr_corpus import (BODY_CHARS, MAX_SUMMARY_WORDS, MIN_BODY_WORDS, MIN_SUMMARY_WORDS, VALIDATION_BUCKET,
                         EXCLUDED_DISTRIBUTIONS, Pair, docstring_paragraphs, embed, licence_of, source_docstring_pairs,
                         without_repeats)

DOMAINS = ("docstrings", "stdlib", "package-docs", "man-pages", "debian-descriptions")
TRAINABLE = ("docstrings", "stdlib", "package-docs")
MIN_PAIRS = 300
#: the most pairs a domain keeps (those of smallest document_key): embedding is the corpus's cost
MAX_PAIRS = 10_000
MAN_SECTIONS = ("man1", "man5", "man8")
MAN_ROOT, DOC_ROOT = Path("/usr/share/man"), Path("/usr/share/doc")
PYTHON_ROOT = Path("/usr/lib")  # where Debian's packages install Python sources
CPYTHON_LIBRARY = re.compile(r"python3\.\d+")  # /usr/lib/python3.X: the standard library
DPKG_STATUS, DPKG_INFO = Path("/var/lib/dpkg/status"), Path("/var/lib/dpkg/info")
DOC_SUFFIXES = (".md", ".rst")
#: a Markdown heading, or a reStructuredText title underlined with = - ~ ^
HEADING = re.compile(r"^(?:#{1,4}\s+(?P<md>.+)|(?P<rst>[^\n]+)\n[=\-~^]{3,}\s*)$", re.MULTILINE)
#: lines that are markup, not prose: images, badges, HTML, directives, tables, code fences
MARKUP_LINE = re.compile(r"^\s*(!\[|\[!\[|<[^>]*>\s*$|\.\. |\||```|:\w+:|#|[=\-~^*]{3,}\s*$)")


@dataclass(frozen=True)
class DomainSource:
    """Where a domain's text came from and under which licence."""

    name: str
    version: str
    licence: str


def usable(query: str, document: str) -> tuple[str, str] | None:
    """The pair with whitespace collapsed and the document cut to BODY_CHARS, or None when either side is too
    short (or the query too long) to be a search and its answer."""
    query, document = " ".join(query.split()), " ".join(document.split())[:BODY_CHARS]
    if not MIN_SUMMARY_WORDS <= len(query.split()) <= MAX_SUMMARY_WORDS or len(document.split()) < MIN_BODY_WORDS:
        return None
    return query, document


def prose(text: str) -> str:
    """Code blocks and markup lines dropped; inline links reduced to their words, HTML tags and emphasis marks
    removed."""
    text = re.sub(r"```.*?(```|$)", "", text, flags=re.DOTALL)
    kept = "\n".join(line for line in text.splitlines() if not MARKUP_LINE.match(line))
    kept = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", kept)
    return re.sub(r"<[^>]+>|\*\*|__|`", "", kept)


def section_pairs(text: str) -> Iterator[tuple[str, str]]:
    """(heading, the prose under it up to the next heading) of a Markdown or reStructuredText file."""
    headings = list(HEADING.finditer(text))
    for heading, following in zip(headings, [*headings[1:], None]):
        body = text[heading.end(): following.start() if following else len(text)]
        pair = usable((heading["md"] or heading["rst"]).strip("#*` "), prose(body))
        if pair:
            yield pair


def stdlib_pairs() -> tuple[list[Pair], list[DomainSource]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    pairs = [Pair(q, d, "cpython-stdlib") for path in sorted(root.rglob("*.py"))
             if not {"site-packages", "test", "tests", "idle_test"} & set(path.relative_to(root).parts)
             for q, d in source_docstring_pairs(path)]
    return pairs, [DomainSource("cpython-stdlib", sysconfig.get_python_version(), "PSF-2.0")]


def package_doc_pairs() -> tuple[list[Pair], list[DomainSource]]:
    pairs, sources = [], []
    for distribution in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        name, licence = distribution.metadata["Name"], licence_of(distribution)
        if licence is None or name.lower() in EXCLUDED_DISTRIBUTIONS:
            continue
        found = []
        readme = distribution.metadata.get_payload() or distribution.metadata.get("Description") or ""
        summary_pair = usable(distribution.metadata.get("Summary") or "", prose(readme))
        if summary_pair:
            found.append(summary_pair)
        for file in sorted(distribution.files or [], key=str):
            if file.suffix.lower() in DOC_SUFFIXES and "LICENSE" not in file.name.upper():
                try:
                    found += section_pairs(Path(distribution.locate_file(file)).read_text(errors="replace"))
                except OSError:
                    continue
        if found:
            sources.append(DomainSource(name, distribution.version, licence))
            pairs += [Pair(q, d, name) for q, d in found]
    return pairs, sources


def debian_licences(package: str) -> str:
    """The `License:` names of a Debian package's copyright file ("unknown" without one)."""
    path = DOC_ROOT / package / "copyright"
    text = path.read_text(errors="replace") if path.is_file() else ""
    names = sorted({m.group(1).strip() for m in re.finditer(r"^License:\s*(\S[^\n]*)$", text, re.MULTILINE)})
    return ", ".join(names) or "unknown"


def installed_packages() -> dict[str, tuple[str, str]]:
    """package -> (version, Description field) from dpkg's status file, installed packages only."""
    packages = {}
    for stanza in DPKG_STATUS.read_text(errors="replace").split("\n\n") if DPKG_STATUS.is_file() else []:
        fields = dict(re.findall(r"^([\w-]+): ?((?:.*)(?:\n .*)*)", stanza, re.MULTILINE))
        if "install ok installed" in fields.get("Status", "") and "Description" in fields:
            packages[fields["Package"]] = (fields.get("Version", ""), fields["Description"])
    return packages


def debian_description_pairs() -> tuple[list[Pair], list[DomainSource]]:
    pairs, sources = [], []
    for package, (version, description) in sorted(installed_packages().items()):
        short, _, extended = description.partition("\n")
        lines = [line[1:] for line in extended.splitlines()]
        pair = usable(short, " ".join("" if line.strip() == "." else line for line in lines))
        if pair:
            pairs.append(Pair(*pair, package))
            sources.append(DomainSource(package, version, debian_licences(package)))
    return pairs, sources


def file_owners(root: Path) -> dict[str, str]:
    """path under `root` -> the Debian package that installed it, from dpkg's file lists."""
    owners = {}
    for listing in sorted(DPKG_INFO.glob("*.list")):
        package = listing.stem.split(":")[0]
        for line in listing.read_text(errors="replace").splitlines():
            if line.startswith(str(root)):
                owners[line] = package
    return owners


def troff_text(line: str) -> str:
    """One troff line's words: font escapes and special characters resolved, a macro's arguments kept."""
    if line.startswith((".", "'")):
        macro, _, rest = line.partition(" ")
        if macro.lstrip(".'") not in ("B", "I", "BR", "RB", "IR", "RI", "BI", "IB", "SM", "SB"):
            return ""
        line = rest.replace('"', "")
    line = re.sub(r"\\f[BIRP]|\\f\(\w\w|\\&|\\c|\\s[-+]?\d+|\\[|^]|\\\*\(..|\\\*\w", "", line)
    return re.sub(r"\\\(\w\w|\\[-e]", lambda m: {"\\-": "-", "\\e": "\\"}.get(m.group(0), "'"), line)


def man_page_pair(path: Path) -> tuple[str, str] | None:
    """(NAME's description, DESCRIPTION's text) of a gzipped man page."""
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return None
    sections, current = {}, None
    for line in text.splitlines():
        if line.startswith((".SH", ".Sh")):
            current = line[3:].strip().strip('"').upper()
            sections[current] = []
        elif current is not None:
            sections[current].append(troff_text(line))
    name = " ".join(sections.get("NAME", []))
    _, dash, description = name.partition(" - ")
    return usable(description, " ".join(sections.get("DESCRIPTION", []))) if dash else None


def man_page_pairs() -> tuple[list[Pair], list[DomainSource]]:
    owners, pairs, licences = file_owners(MAN_ROOT), [], {}
    versions = {package: version for package, (version, _) in installed_packages().items()}
    for section in MAN_SECTIONS:
        for path in sorted((MAN_ROOT / section).glob("*.gz")):
            package = owners.get(str(path))
            pair = man_page_pair(path) if package else None
            if pair:
                pairs.append(Pair(*pair, package))
                licences.setdefault(package, debian_licences(package))
    return pairs, [DomainSource(p, versions.get(p, ""), licence) for p, licence in sorted(licences.items())]


def function_code_pairs(path: Path) -> Iterator[tuple[str, str]]:
    """(docstring summary, the function's source without its docstring) of each documented function of a
    Python file, read with `ast` (nothing is imported)."""
    try:
        text = path.read_text(errors="replace")
        tree = ast.parse(text)
    except (SyntaxError, ValueError, OSError):  # sources of other Python versions
        return
    lines = text.splitlines(keepends=True)  # once: ast.get_source_segment splits the whole file at every call
    for node in ast.walk(tree):
        docstring = ast.get_docstring(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if docstring:
            source, quoted = source_of(lines, node), source_of(lines, node.body[0])
            pair = usable(docstring_paragraphs(docstring)[0], source.replace(quoted, "", 1))
            if pair:
                yield pair


def source_of(lines: list[str], node: ast.stmt) -> str:
    """The node's source text: its lines, the first cut at its column and the last at its end column."""
    first, last = node.lineno - 1, node.end_lineno - 1
    encoded = [line.encode() for line in lines[first:last + 1]]  # ast's columns count UTF-8 bytes
    if len(encoded) == 1:
        return encoded[0][node.col_offset:node.end_col_offset].decode(errors="replace")
    return b"".join([encoded[0][node.col_offset:], *encoded[1:-1], encoded[-1][:node.end_col_offset]]).decode(errors="replace")


def debian_python_code_pairs(root: Path = PYTHON_ROOT) -> tuple[list[Pair], list[DomainSource]]:
    """Code search over the Python sources Debian's packages installed under `root`, but Python's own library
    (the `stdlib` domain) and every file with a directory or module name the SDK's environment can import
    (vendored copies too: their docstrings are in the `docstrings` domain the start was fitted on)."""
    owners, ours = file_owners(root), set(metadata.packages_distributions())
    versions = {package: version for package, (version, _) in installed_packages().items()}
    pairs, licences = [], {}
    for path in sorted(root.rglob("*.py")):
        package, parts = owners.get(str(path)), path.relative_to(root).parts
        if package is None or {part.removesuffix(".py") for part in parts} & ours or CPYTHON_LIBRARY.fullmatch(parts[0]):
            continue
        found = [Pair(query, document, package) for query, document in function_code_pairs(path)]
        if found:
            pairs += found
            licences.setdefault(package, debian_licences(package))
    return pairs, [DomainSource(p, versions.get(p, ""), licence) for p, licence in sorted(licences.items())]


def docstring_domain() -> tuple[list[Pair], list[DomainSource]]:
    from bebr_corpus import collect_pairs

    pairs, sources = collect_pairs()
    return pairs, [DomainSource(s.distribution, s.version, s.licence) for s in sources]


READERS = {"docstrings": docstring_domain, "stdlib": stdlib_pairs, "package-docs": package_doc_pairs,
           "man-pages": man_page_pairs, "debian-descriptions": debian_description_pairs}


def collect_domains() -> dict[str, tuple[list[Pair], list[DomainSource]]]:
    """Every domain's unique pairs (a repeated query or document dropped, every copy) and its sources."""
    return {name: (without_repeats(pairs), sources) for name, (pairs, sources) in
            ((name, READERS[name]()) for name in DOMAINS)}


def document_key(pair: Pair) -> int:
    """The first 64 bits of sha256(document): which pairs a capped evaluation scores, fixed by the text."""
    return int(hashlib.sha256(pair.document.encode()).hexdigest()[:16], 16)


def kept_pairs(pairs: list[Pair], most: int) -> list[Pair]:
    """At most `most` pairs, those of smallest document_key, in their order (embedding is a corpus's cost)."""
    kept = set(sorted(pairs, key=document_key)[:most])
    return [p for p in pairs if p in kept]


def default_domains_path() -> Path:
    from runtimes.cache import cache_root

    return cache_root() / "bebr" / "domains.npz"


def build_domains(out: Path) -> dict:
    """Collect and embed every domain with enough pairs; OUT.npz holds <domain>_queries and _docs (float16),
    _validation (the validation bucket's mask) and _keys (document_key), OUT.json the counts, the sources and
    the domains left out."""
    record = {"trainable": list(TRAINABLE), "min_pairs": MIN_PAIRS, "pairs": {}, "left_out": {}, "sources": {}}
    arrays = {}
    for name, (pairs, sources) in collect_domains().items():
        if len(pairs) < MIN_PAIRS:
            record["left_out"][name] = len(pairs)
            continue
        pairs = kept_pairs(pairs, MAX_PAIRS)
        arrays[f"{name}_queries"] = embed([p.query for p in pairs]).astype(np.float16)
        arrays[f"{name}_docs"] = embed([p.document for p in pairs]).astype(np.float16)
        arrays[f"{name}_validation"] = np.array([p.bucket == VALIDATION_BUCKET for p in pairs])
        arrays[f"{name}_keys"] = np.array([document_key(p) for p in pairs], dtype=np.uint64)
        record["pairs"][name], record["sources"][name] = len(pairs), [asdict(s) for s in sources]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=default_domains_path())
    args = parser.parse_args()
    record = build_domains(args.out)
    print(f"wrote {args.out}: {record['pairs']} pairs; left out (too few pairs): {record['left_out']}")


if __name__ == "__main__":
    main()
