"""Line numbers of the Markdown reader: byte offsets map to the line that holds them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backlog.markdown.blocks import LineIndex

pieces = st.lists(st.sampled_from(["a", "é", "\n", "\n\n", "| x |", "日本", " "]), max_size=40)


@settings(max_examples=200, deadline=None)
@given(pieces)
def test_every_offset_maps_to_its_line(parts: list[str]) -> None:
    data = "".join(parts).encode("utf-8")
    index = LineIndex(data)
    for offset in range(len(data) + 1):
        assert index.line(offset) == data.count(b"\n", 0, offset) + 1
