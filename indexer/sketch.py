"""Near-copy sketches: hashed character 4-grams of a section, computed once when it is indexed.

Search folds near-copies of a better hit into it (范文 sites copy each other's sections). Comparing texts at
query time meant hashing every 4-gram of a few hundred sections per query; the sketch is made at index time
instead, stored compactly beside the section, and turned back into sets in microseconds.

Hashes must be the same in every process (so not Python's salted ``hash``): a polynomial hash of the four
code points, mixed, in numpy.
"""

from __future__ import annotations

import re

import numpy as np

N = 4
SAMPLE_ABOVE = 256  # grams; longer sections keep only the grams whose hash is 0 mod 4
_NON_WORD = re.compile(r"\W+")
_P = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def gram_hashes(text: str) -> np.ndarray:
    """The distinct hashes (uint32) of the character 4-grams of ``text``, punctuation and spaces removed."""
    t = _NON_WORD.sub("", text)
    if not t:
        return np.zeros(0, dtype=np.uint32)
    cps = np.frombuffer(t.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    if len(cps) < N:
        cps = np.concatenate([cps, np.zeros(N - len(cps), dtype=np.uint64)])
    with np.errstate(over="ignore"):
        h = cps[: len(cps) - N + 1].copy()
        for k in range(1, N):
            h = h * _P + cps[k: len(cps) - N + 1 + k]
        h = (h * _MIX) >> np.uint64(32)
    return np.unique(h.astype(np.uint32))


def make_sketch(text: str) -> bytes:
    """The stored form: one flag byte (1 = sampled) and the kept hashes' low 16 bits, little-endian.

    Sixteen bits are enough: two unrelated sections of 256 grams share about one value by chance (a Jaccard
    of 0.002, against the 0.6 that makes a copy), and the index keeps half the bytes. The low bits keep the
    0-mod-4 property that sampling relies on."""
    grams = gram_hashes(text)
    sampled = len(grams) > SAMPLE_ABOVE
    if sampled:
        grams = grams[grams % 4 == 0]
    return (b"\x01" if sampled else b"\x00") + np.unique(grams & 0xFFFF).astype("<u2").tobytes()


class Sketch:
    """A section's stored grams: every gram (short sections) or the 0-mod-4 sample (long ones). The arrays come
    straight from the stored bytes; the sets (for exact overlaps) are made only when asked for."""

    __slots__ = ("array", "sampled", "zeros_array", "_grams")

    def __init__(self, array: np.ndarray, sampled: bool):
        self.array, self.sampled = array, sampled
        # The 0-mod-4 grams: comparable between a sampled and an unsampled sketch.
        self.zeros_array = array if sampled else array[array % 4 == 0]
        self._grams: frozenset[int] | None = None

    def __eq__(self, other) -> bool:
        return isinstance(other, Sketch) and self.sampled == other.sampled and np.array_equal(self.array, other.array)

    __hash__ = None  # type: ignore[assignment]  # equal by value, mutable cache: not hashable

    @property
    def grams(self) -> frozenset[int]:
        if self._grams is None:
            self._grams = frozenset(self.array.tolist())
        return self._grams

    @property
    def zeros(self) -> frozenset[int]:
        return self.grams if self.sampled else frozenset(self.zeros_array.tolist())

    @classmethod
    def from_bytes(cls, data: bytes) -> Sketch:
        if not data:
            return cls(np.zeros(0, dtype=np.uint16), False)
        return cls(np.frombuffer(data, dtype="<u2", offset=1), data[0] == 1)

    @classmethod
    def of(cls, text: str) -> Sketch:
        return cls.from_bytes(make_sketch(text))
