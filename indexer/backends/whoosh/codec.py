"""Whoosh's W3 codec with compact positions: part of the Whoosh backend (with store.py and arrays.py).

Whoosh's ``Positions`` format encodes each posting as a 4-byte count plus a pickled list of position deltas,
and a posting block pickles the tuple of those strings: at 1,000 pages the text field's positions took 10 MB
of a 27 MB index (about 12 bytes per posting after zlib). Here a posting's value is varints (the count, then
the deltas), and a block stores its values as one string plus one length byte each; term frequencies, stored
as weights, are pickled as small integers rather than 9-byte floats; and terms with fewer than INLINE_LIMIT
postings live in the term index. The postings file of those 1,000 pages went from 15.4 to 5.8 MB. The block
layout is otherwise Whoosh's: our matcher subclasses unpack it, and Whoosh's queries and arrays.py use
them unchanged.

A term with more than one block also ends its extent with a *trailer*: all its document numbers and weights
as little-endian arrays of the narrowest type (one zlib stream), and each block's offset and first posting,
so that numpy reads a whole posting list in one call instead of unpickling and decompressing every block,
positions included (at 100,000 pages a common word has 1,400 blocks, ≈ 100 µs each). Whoosh's matchers stop
at the last block and never see it. For a field with positions the trailer (magic USP2) also gives each
posting's value length, and the values themselves stand uncompressed just before it: the positions of a few
documents of a common word are read where they lie (a seek and a read each), not by decompressing and
unpickling a block of 128 postings per document (at 100,000 pages the check that a long word's parts stand near
each other decoded 2 blocks for every 3 documents it looked at: a fifth of a query's CPU). An extent with the
first trailer (USPT, format 8 as first written) is read as before.

The codec and the format are pickled into the index (schema and segment list) by their import path, so
both names must stay here.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from typing import Any, NamedTuple

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3LeafMatcher, W3PostingsWriter
from whoosh.matching import ListMatcher

INLINE_LIMIT = 4
TRAILER_MAGIC = b"USPT"  # ids, weights, blocks
VALUES_TRAILER_MAGIC = b"USP2"  # … and each posting's value length, the values standing before the trailer
TRAILER_END = struct.Struct("<4sI")  # magic, length of the zlib stream before it
TRAILER_HEAD = struct.Struct("<IIBB")  # postings, blocks, the types of id gaps and of weights (_TRAILER_TYPES)
VALUES_HEAD = struct.Struct("<BQ")  # (USP2, after TRAILER_HEAD) the type of value lengths, the values' size


def encode_varints(numbers) -> bytes:
    out = bytearray()
    for n in numbers:
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
    return bytes(out)


def decode_varints(data: bytes) -> list[int]:
    out, n, shift = [], 0, 0
    for byte in data:
        n |= (byte & 0x7F) << shift
        if byte < 0x80:
            out.append(n)
            n, shift = 0, 0
        else:
            shift += 7
    return out


class GramSet(formats.Existence):
    """Whoosh's Existence format for the ``grams`` field: whether a section holds a character bigram of its
    literal text (no frequency, no positions: what the literal fallback needs, at a fraction of the cost of a
    positional bigram field). The analyzer hands the bigrams over directly."""

    def word_values(self, value, analyzer, **kwargs):
        grams_of = getattr(analyzer, "grams_of", None)
        if grams_of is None or not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        fb = self.field_boost
        for gram in grams_of(value):
            yield gram, 1, fb, b""


class VarintPositions(formats.Positions):
    """Whoosh's Positions format (frequency, weight, positions), encoded as varints: count, then deltas."""

    def word_values(self, value, analyzer, **kwargs):
        positions_of = getattr(analyzer, "positions_of", None)
        if positions_of is None or not isinstance(value, str):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        # Our tokenizers hand over term → positions directly (no Token object per word).
        fb = self.field_boost
        for word, poslist in positions_of(value).items():
            yield word, len(poslist), len(poslist) * fb, self.encode(poslist)

    def encode(self, poslist):
        if len(poslist) == 1 and poslist[0] < 0x80:
            return bytes((1, poslist[0]))
        deltas, base = [len(poslist)], 0
        for pos in poslist:
            deltas.append(pos - base)
            base = pos
        return encode_varints(deltas)

    def decode_positions(self, valuestring):
        numbers = decode_varints(valuestring)
        out, pos = [], 0
        for delta in numbers[1:]:
            pos += delta
            out.append(pos)
        return out

    def decode_frequency(self, valuestring):
        if valuestring[0] < 0x80:
            return valuestring[0]
        return decode_varints(valuestring)[0]

    def decode_weight(self, valuestring):
        return self.decode_frequency(valuestring) * self.field_boost


class CompactCodec(W3Codec):
    """W3Codec whose posting blocks store VarintPositions values in one string, and whose terms with fewer than
    ``inlinelimit`` postings keep them in the term index."""

    def __init__(self, blocklimit=128, compression=3, inlinelimit=INLINE_LIMIT):
        super().__init__(blocklimit, compression, inlinelimit)

    def postings_writer(self, dbfile, byteids=False):
        return CompactPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                               compression=self._compression, inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            return _InlineMatcher(ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo)
        offset, length = terminfo.extent()
        return _LeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class CompactPostingsWriter(W3PostingsWriter):
    def start_postings(self, format_, terminfo):
        super().start_postings(format_, terminfo)
        self._all_ids: list = []  # each block's ids and weights, and where it starts (for the trailer)
        self._all_weights: list = []
        self._block_offsets: list[int] = []
        self._all_values: list[bytes] | None = []  # each block's values joined, while every posting has one
        self._value_lengths: list[np.ndarray] = []

    def _write_block(self, last=False):
        if self._byteids:  # a term vector's postings (not used by our schema): no trailer
            super()._write_block(last)
            return
        self._all_ids.append(np.frombuffer(self._ids, dtype=np.uint32) if isinstance(self._ids, array)
                             else np.asarray(self._ids, dtype=np.uint32))
        self._all_weights.append(np.asarray(self._weights, dtype=np.float32))
        if self._all_values is not None:
            if self._values and len(self._values) == len(self._ids):
                self._all_values.append(b"".join(self._values))
                self._value_lengths.append(np.fromiter(map(len, self._values), dtype=np.int64,
                                                       count=len(self._values)))
            else:  # a field without values (or some postings without one): no values in the trailer
                self._all_values = None
        # the first block follows the extent's header, which Whoosh writes with it
        header = 0 if self._blockcount else len(WHOOSH3_HEADER_MAGIC)
        self._block_offsets.append(self._postfile.tell() - self._startoffset + header)
        super()._write_block(last)

    def add_many(self, ids, weights, values, lengths=None) -> None:
        """add_posting for a term's postings at once (ascending ids): the same blocks and statistics, a block's
        worth of list operations at a time instead of a Python call and four checks per posting."""
        i, n, limit = 0, len(ids), self._blocklimit
        while i < n:
            if len(self._ids) >= limit:
                self._write_block()
            j = min(n, i + limit - len(self._ids))
            self._ids.extend(ids[i:j])
            chunk = weights[i:j]
            self._weights.extend(chunk)
            self._maxweight = max(self._maxweight, max(chunk))  # type: ignore[has-type]  # Whoosh's
            self._values.extend(v for v in values[i:j] if v)
            if lengths is not None:
                sizes = [x for x in lengths[i:j] if x]
                if sizes:
                    low = min(sizes)
                    known = self._minlength  # type: ignore[has-type]  # set by Whoosh's _new_block
                    self._minlength = low if known is None else min(known, low)
                    self._maxlength = max(self._maxlength, max(sizes))  # type: ignore[has-type]
            i = j

    def finish_postings(self):
        # A term with few postings goes into the term index with them, not into a block of its own (a block costs
        # ~70 bytes of framing; most words of a corpus occur in a few sections). Whoosh's own inlining is dead code
        # in whoosh-reloaded (it calls a set_inline() that does not exist), so it is done here.
        if not self.written() and 0 < len(self) < self._inlinelimit:
            terminfo: Any = self._terminfo  # type: ignore[has-type]  # set by Whoosh's start_postings
            self._terminfo = None
            terminfo.add_block(self)
            terminfo.set_inlined(self._ids, self._weights, self._values)
            return terminfo
        start = self._startoffset
        terminfo = super().finish_postings()
        if len(self._all_ids) > 1:  # one block is read as fast without
            values = None
            if self._all_values:
                values = (self._all_values, self._value_lengths)
            self._postfile.write(encode_trailer(self._all_ids, self._all_weights, self._block_offsets, values))
            terminfo.set_extent(start, self._postfile.tell() - start)
        self._all_ids, self._all_weights, self._block_offsets = [], [], []
        self._all_values, self._value_lengths = [], []
        return terminfo

    def _mini_values(self):
        values = self._values
        if isinstance(self._format, VarintPositions) and len(values) == len(self._ids):
            lengths = [len(v) for v in values]
            if max(lengths) < 256:
                # A list (Whoosh writes a tuple) marks the packed layout for _LeafMatcher.
                return [b"".join(values), bytes(lengths)]
        return super()._mini_values()

    def _mini_weights(self):
        mini = super()._mini_weights()  # None (all 1), one float (all equal), or a tuple of floats
        if isinstance(mini, tuple) and all(w.is_integer() and 0 <= w < 2**31 for w in mini):
            return tuple(int(w) for w in mini)  # 2-3 pickled bytes each instead of 9
        return mini


_TRAILER_TYPES = (np.dtype("<u1"), np.dtype("<u2"), np.dtype("<u4"), np.dtype("<f4"))


def _narrowest(values: np.ndarray) -> int:
    """Index in _TRAILER_TYPES of the smallest type that holds ``values`` exactly."""
    if not len(values):
        return 0
    if np.all(values >= 0) and np.all(values == np.floor(values)):
        top = values.max()
        return 0 if top < 2**8 else 1 if top < 2**16 else 2 if top < 2**32 else 3
    return 3


def encode_trailer(id_blocks: list, weight_blocks: list, block_offsets: list[int],
                   values: tuple[list[bytes], list[np.ndarray]] | None = None) -> bytes:
    """What follows a term's last block. ``values``: every posting's value (each block's values joined, and
    their lengths), written as they are before the trailer."""
    ids = np.concatenate(id_blocks).astype(np.int64)
    deltas = np.diff(ids, prepend=0)  # ascending: small numbers
    weights = np.concatenate(weight_blocks)
    id_type, weight_type = _narrowest(deltas), _narrowest(weights)
    firsts = np.cumsum([0] + [len(b) for b in id_blocks[:-1]])
    parts = [TRAILER_HEAD.pack(len(ids), len(block_offsets), id_type, weight_type)]
    raw = b""
    if values is not None:
        raw = b"".join(values[0])
        lengths = np.concatenate(values[1])
        if len(lengths) != len(ids) or lengths.sum() != len(raw):
            raise ValueError("a value for every posting")
        length_type = _narrowest(lengths)
        parts.append(VALUES_HEAD.pack(length_type, len(raw)))
    parts += [deltas.astype(_TRAILER_TYPES[id_type]).tobytes(), weights.astype(_TRAILER_TYPES[weight_type]).tobytes(),
              np.asarray(block_offsets, dtype="<u4").tobytes(), np.asarray(firsts, dtype="<u4").tobytes()]
    if values is not None:
        parts.append(lengths.astype(_TRAILER_TYPES[length_type]).tobytes())
    packed = zlib.compress(b"".join(parts), 6)
    magic = TRAILER_MAGIC if values is None else VALUES_TRAILER_MAGIC
    return raw + packed + TRAILER_END.pack(magic, len(packed))


class Trailer(NamedTuple):
    ids: np.ndarray  # document numbers, int32
    weights: np.ndarray  # float32
    starts: np.ndarray  # each block's offset in the file, int64
    firsts: np.ndarray  # index of each block's first posting, int64
    # (USP2) where the values stand in the file, and where each posting's value starts in them (int64, one more
    # than the postings: posting i's value is [bounds[i], bounds[i + 1]) from values_at)
    values_at: int | None = None
    bounds: np.ndarray | None = None


def read_trailer(postfile, offset: int, length: int) -> Trailer | None:
    """A term's trailer, or None for an extent written without one."""
    length = length[0] if isinstance(length, tuple) else length  # W3TermInfo.from_bytes leaves a 1-tuple
    if length < TRAILER_END.size + TRAILER_HEAD.size:
        return None
    magic, size = TRAILER_END.unpack(postfile.get(offset + length - TRAILER_END.size, TRAILER_END.size))
    if magic not in (TRAILER_MAGIC, VALUES_TRAILER_MAGIC) or size > length - TRAILER_END.size:
        return None
    packed_at = offset + length - TRAILER_END.size - size
    body = zlib.decompress(postfile.get(packed_at, size))
    n, blocks, id_type, weight_type = TRAILER_HEAD.unpack_from(body)
    at = TRAILER_HEAD.size
    length_type = values_size = 0
    if magic == VALUES_TRAILER_MAGIC:
        length_type, values_size = VALUES_HEAD.unpack_from(body, at)
        at += VALUES_HEAD.size
    id_dtype, weight_dtype = _TRAILER_TYPES[id_type], _TRAILER_TYPES[weight_type]
    ids = np.cumsum(np.frombuffer(body, dtype=id_dtype, count=n, offset=at), dtype=np.int64).astype(np.int32)
    at += id_dtype.itemsize * n
    weights = np.frombuffer(body, dtype=weight_dtype, count=n, offset=at).astype(np.float32)
    at += weight_dtype.itemsize * n
    starts = np.frombuffer(body, dtype="<u4", count=blocks, offset=at).astype(np.int64) + offset
    at += 4 * blocks
    firsts = np.frombuffer(body, dtype="<u4", count=blocks, offset=at).astype(np.int64)
    if magic == TRAILER_MAGIC:
        return Trailer(ids, weights, starts, firsts)
    at += 4 * blocks
    bounds = np.zeros(n + 1, dtype=np.int64)
    bounds[1:] = np.cumsum(np.frombuffer(body, dtype=_TRAILER_TYPES[length_type], count=n, offset=at), dtype=np.int64)
    return Trailer(ids, weights, starts, firsts, packed_at - values_size, bounds)


class _LeafMatcher(W3LeafMatcher):
    def _read_values(self):
        if self._data is None:
            self._read_data()
        packed = self._data[2]
        if not isinstance(packed, list):
            return super()._read_values()
        blob, lengths = packed
        values, at = [], 0
        for n in lengths:
            values.append(blob[at:at + n])
            at += n
        self._values = values


class _InlineMatcher(ListMatcher):
    """Whoosh's reader of inlined postings, whose value() is "" for a field without values (ID, NUMERIC,
    KEYWORD): merging segments hands that to the posting pool, which accepts only bytes or None."""

    def value(self):
        return super().value() if self._values else None
