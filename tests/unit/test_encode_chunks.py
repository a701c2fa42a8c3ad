"""A page encoded chunk by chunk (``portal.core.web.encode_chunks``) is byte for byte the page joined then
encoded, whatever the mix of short, long, ASCII and accented chunks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portal.core.web import LARGE_CHUNK, encode_chunks

_text = st.text(alphabet=st.sampled_from("ab<>&é—·😀 \n"), max_size=40)
_chunk = st.one_of(_text, st.builds(lambda t, n: (t or "x") * n, _text, st.integers(LARGE_CHUNK // 8, LARGE_CHUNK)))


@given(st.lists(_chunk, max_size=12))
def test_chunks_encode_to_the_joined_page(chunks):
    assert encode_chunks(iter(chunks)) == "".join(chunks).encode("utf-8")


def test_a_long_chunk_alone_and_between_short_ones():
    long = "a" * LARGE_CHUNK
    assert encode_chunks([long]) == long.encode()
    assert encode_chunks(["é", long, "—", long + "é", ""]) == ("é" + long + "—" + long + "é").encode()
