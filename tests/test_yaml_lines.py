"""The line index of `parse_located_yaml`: every key and list item of a document, at the line that writes it."""
from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from aiplane.files import line_of, parse_located_yaml
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS

KEYS = st.from_regex(r"[a-z][a-zA-Z0-9]{0,7}", fullmatch=True).filter(lambda key: key not in ("y", "n", "yes", "no", "on", "off", "null", "true", "false"))
SCALARS = st.one_of(st.integers(-1000, 1000), st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.booleans())
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, min_size=1, max_size=4), st.dictionaries(KEYS, children, min_size=1, max_size=4)),
    max_leaves=30,
)


def assert_written_where_located(document_text: str, lines: dict) -> None:
    text_lines = document_text.splitlines()
    for path, line in lines.items():
        written = text_lines[line - 1]
        if isinstance(path[-1], int):
            assert written.lstrip().startswith("-") or "[" in written, (path, written)
        else:
            assert re.search(rf"(^|[\s{{,-]){re.escape(path[-1])}:", written), (path, written)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(KEYS, DOCUMENTS, min_size=1, max_size=5), st.booleans())
def test_every_key_and_item_is_located_on_the_line_that_writes_it(document, flow_leaves):
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None if flow_leaves else False  # None: innermost collections in flow style
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    parsed, lines = parse_located_yaml(buffer.getvalue(), "doc.yaml")
    assert parsed == document
    assert_written_where_located(buffer.getvalue(), lines)
    # Every path into the document is located, and nothing else is.
    expected = set()
    pending = [((), document)]
    while pending:
        path, value = pending.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in items:
            expected.add(path + (key,))
            pending.append((path + (key,), child))
    assert set(lines) == expected


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_the_shipped_stack_files_are_located_key_by_key(environment):
    text = (PROJECT_DIR / "stacks" / f"Pulumi.{environment}.yaml").read_text()
    _, lines = parse_located_yaml(text, environment)
    assert len(lines) > 50
    assert_written_where_located(text, lines)


def test_a_path_the_document_does_not_write_is_located_at_its_nearest_written_ancestor():
    _, lines = parse_located_yaml("a:\n  b:\n    - c: 1\n", "doc.yaml")
    assert line_of(lines, ("a", "b", 0, "c")) == (("a", "b", 0, "c"), 3)
    assert line_of(lines, ("a", "b", 0, "missing")) == (("a", "b", 0), 3)
    assert line_of(lines, ("a", "x", "y")) == (("a",), 1)
    assert line_of(lines, ("elsewhere",)) == ((), 1)
    assert parse_located_yaml("", "empty.yaml") == (None, {})
