"""ReceiveBuffer against a naive model: any sequence of operations, same answers.

The model is a plain ``bytes`` that rescans from the start every time: slow
and obviously right. The buffer's remembered search positions, its offset and
its compaction must never make it answer differently.
"""

from __future__ import annotations

import struct

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ambidex.sansio import LimitExceeded, ReceiveBuffer

HEADER = struct.Struct("<BH")
separators = st.sampled_from([b"\n", b"\r\n", b"\r\n\r\n", b"|"])
chunks = st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"\n"))


class BufferVersusModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.buf = ReceiveBuffer(max_buffer=None)
        self.model = b""

    @rule(data=chunks)
    def feed(self, data: bytes) -> None:
        self.buf += data
        self.model += data

    @rule(data=st.binary(min_size=4000, max_size=9000))
    def feed_a_lot(self, data: bytes) -> None:  # pushes the offset past compaction
        self.buf.feed(data)
        self.model += data

    @rule(separator=separators, limit=st.integers(min_value=1, max_value=400))
    def read_line(self, separator: bytes, limit: int) -> None:
        index = self.model.find(separator)
        expected_error = (index == -1 and len(self.model) >= limit) or (
            index != -1 and index + len(separator) > limit
        )
        try:
            line = self.buf.read_line(separator, limit=limit)
        except LimitExceeded:
            assert expected_error
            return
        assert not expected_error
        if index == -1:
            assert line is None
        else:
            end = index + len(separator)
            assert line == self.model[:end]
            self.model = self.model[end:]

    @rule(n=st.integers(min_value=0, max_value=500))
    def read_exactly(self, n: int) -> None:
        got = self.buf.read_exactly(n)
        if len(self.model) < n:
            assert got is None
        else:
            assert got == self.model[:n]
            self.model = self.model[n:]

    @rule(n=st.integers(min_value=0, max_value=9000))
    def consume_or_discard(self, n: int) -> None:
        if n % 2:
            assert self.buf.consume(n) == self.model[:n]
        else:
            self.buf.discard(n)
        self.model = self.model[n:]

    @rule(limit=st.integers(min_value=0, max_value=70000))
    def read_frame(self, limit: int) -> None:
        try:
            frame = self.buf.read_frame(HEADER, size_index=1, limit=limit)
        except LimitExceeded:
            assert len(self.model) >= HEADER.size
            assert HEADER.unpack_from(self.model)[1] > limit
            return
        if len(self.model) < HEADER.size:
            assert frame is None
            return
        fields = HEADER.unpack_from(self.model)
        end = HEADER.size + fields[1]
        if len(self.model) < end:
            assert frame is None
        else:
            assert frame == (fields, self.model[HEADER.size : end])
            self.model = self.model[end:]

    @invariant()
    def same_bytes(self) -> None:
        assert len(self.buf) == len(self.model)
        assert self.buf.peek(16) == self.model[:16]


BufferVersusModel.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
test_receive_buffer_answers_like_a_naive_model = BufferVersusModel.TestCase
