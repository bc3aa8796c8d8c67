"""The shipped model's package cache: a change to the code that builds the graph must not serve the old graph."""
from __future__ import annotations

from sdk import package_cache


def test_graph_source_digest_follows_the_graph_code(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    layer = tmp_path / "models" / "head.py"
    layer.write_text("WIDTH = 24\n")
    (tmp_path / "exporting.py").write_text("OPSET = 18\n")
    monkeypatch.setattr(package_cache, "ROOT", tmp_path)
    monkeypatch.setattr(package_cache, "GRAPH_SOURCES", ("models", "exporting.py"))
    before = package_cache.graph_source_digest()
    assert package_cache.graph_source_digest() == before
    layer.write_text("WIDTH = 32\n")
    assert package_cache.graph_source_digest() != before


def test_graph_sources_exist():
    """A renamed module would silently drop out of the key."""
    assert all((package_cache.ROOT / entry).exists() for entry in package_cache.GRAPH_SOURCES)
