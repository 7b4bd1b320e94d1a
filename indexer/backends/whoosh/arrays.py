"""Whoosh queries evaluated on whole posting lists with numpy: the Whoosh backend's fast path (used only by
store.py).

Whoosh matches and scores one posting at a time in Python, and walks the matches twice (once to score the top
hits, once to count them for the total and the facets). A query of two common words in a 10,000-page archive
costs it hundreds of milliseconds. Here each term's posting list is read once, as arrays (document numbers
and term frequencies, kept in a small LRU cache shared by the threads), and the query tree becomes array
unions and intersections, with Whoosh's own BM25F formula applied to whole arrays. The total and the facet
counts are exact and come from the same arrays.

Scores equal Whoosh's (same formula, same statistics, same tree semantics; tests compare the two on real
pages). The parts only Whoosh can evaluate — phrases, which need positions — are handled two ways: an optional
part that only adds to a score (the proximity boost, ``AndMaybe``) is scored by Whoosh's own matcher for the
best ``RERANK`` candidates; any other phrase, range or custom query raises :class:`Unsupported`, and the
caller uses Whoosh's search instead.
"""

from __future__ import annotations

import io
import itertools
import math
import pickle
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from whoosh import columns, scoring
from whoosh import fields as wf
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3LeafMatcher
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length

from indexer.analysis import grams, literal_key
from indexer.backends.whoosh.codec import read_trailer
from indexer.cache import LRU

# per process: about 2 million postings. Each serving process keeps its caches (about 100 MB in all at 32 MB
# each, which took a process past 300 MB at 10,000 pages); halving this one and _EVALUATED changed no query's
# CPU measurably at 10k or 100k pages (bench/query_ab.py, eleventh session)
POSTINGS_CACHE_BYTES = 16 * 1024 * 1024
RERANK = 400  # candidates the optional (proximity) part is scored for, at least
_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_SCORES = np.zeros(0, dtype=np.float64)
_EMPTY = (_EMPTY_IDS, _EMPTY_SCORES, np.zeros(0, dtype=np.int32))


LITERAL_VERIFY = 400  # per segment: literal candidates (beyond the word's own matches) checked against the text
# sections whose positions a phrase alternative (a long word's parts near each other) reads, the best scored first,
# shared between the segments by their size (at least PHRASE_VERIFY_SEGMENT in each). Two common parts (事业 … 单位)
# share tens of thousands of sections at 100,000 pages, and reading all their positions took most of a query's
# second; the best scored are the ones that can rank.
PHRASE_VERIFY, PHRASE_VERIFY_SEGMENT = 500, 50


class LiteralQuery(wq.Query):
    """Sections whose heading + text hold ``key`` (a literal key: punctuation and spaces ignored). Found as the
    sections holding all of its character bigrams (the ``grams`` field), then checked against the stored text
    (``text_of(leaf_searcher, docnum)``) unless the key is one bigram, or a sibling alternative already matched
    the section, or more than LITERAL_VERIFY candidates are left (then the bigrams alone decide).

    Scored like one occurrence of a word as rare as the key's rarest bigram, with the section's text length
    (BM25), times ``boost``: below the word itself, which is at least as rare and may occur more than once."""

    def __init__(self, key: str, text_of, boost: float = 1.0):
        self.key, self.text_of, self.boost = key, text_of, boost
        self.grams = tuple(grams(key))  # distinct

    def __eq__(self, other):
        return type(other) is type(self) and other.key == self.key and other.boost == self.boost

    def __hash__(self):
        return hash((type(self), self.key, self.boost))

    def __repr__(self):
        return f"LiteralQuery({self.key!r}, boost={self.boost})"

    def estimate_size(self, ixreader):
        return min((ixreader.doc_frequency("grams", g) for g in self.grams), default=0)

    def estimate_min_size(self, ixreader):
        return 0

    def matcher(self, searcher, context=None):
        """Whoosh's own search (sorting by date, phrases in the title part) gets the same matches and scores."""
        top = searcher.parent() if searcher.parent else searcher
        leaf = _Leaf(top, searcher)
        ids, scores, _ = leaf.literal(self)
        live = _live(leaf.reader, ids)  # Whoosh's own matchers skip deleted documents; a list matcher must too
        if live is not None:
            ids, scores = ids[live], scores[live]
        if not len(ids):
            return NullMatcher()
        return ListMatcher(ids.tolist(), weights=scores.tolist())


class Unsupported(Exception):
    """The query holds a part this module does not evaluate (a phrase, a range, a custom query)."""


@dataclass
class Matches:
    docnums: np.ndarray  # global document numbers, ascending
    scores: np.ndarray  # aligned with docnums
    capped: bool = False  # a phrase alternative checked only its PHRASE_VERIFY best candidates somewhere


_POSTINGS = LRU(POSTINGS_CACHE_BYTES)
_LITERAL_KEYS = LRU(32 * 1024 * 1024)  # sections' literal keys, checked again by later queries (_Leaf._holds)
_COLUMNS = LRU(64 * 1024 * 1024)  # field lengths and facet codes, per segment: small, read once
# A typed word's matches and scores in a segment, by everything they depend on (_Leaf.evaluate)
_EVALUATED = LRU(16 * 1024 * 1024)
# Decoded posting blocks' values (positions), by segment and file offset: a long word's parts near each other are
# checked in the positions of common words (事业 … 单位, 劳动 … 保障), which many queries' parts share.
_BLOCK_VALUES = LRU(8 * 1024 * 1024)  # (terms of one block, and trailers without values)
_VALUES_SPAN = 64 * 1024  # the values of the documents wanted are read in one read when they span no more


def _segment_key(leaf) -> str:
    # Segment ids are random and never reused; a segment's postings and columns never change (deletions are
    # applied separately, per reader).
    return leaf.segment().segment_id()


def _read_postings(leaf, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Every posting of a term in one segment, deleted documents included: (docnums, frequencies)."""
    return _postings(leaf, fieldname, btext)[:2]


def _postings(leaf, fieldname: str, btext: bytes):
    """(docnums, frequencies, block file offsets, index of each block's first posting, where the values stand
    in the postings file and each posting's value bounds in them); block offsets and first postings are None for
    a term stored inline (very few postings), the last two unless the trailer gives them (codec.py)."""
    key = (_segment_key(leaf), fieldname, btext)
    found = _POSTINGS.get(key)
    if found is not None:
        return found
    starts: np.ndarray | None = None
    firsts: np.ndarray | None = None
    values_at: int | None = None
    bounds: np.ndarray | None = None
    if (fieldname, btext) not in leaf:
        ids, weights = _EMPTY_IDS.astype(np.int32), _EMPTY_SCORES.astype(np.float32)
    else:
        m = _raw_matcher(leaf, fieldname, btext)
        trailer = None
        if isinstance(m, W3LeafMatcher):
            trailer = read_trailer(m._postfile, m._startoffset, m._length)
        if trailer is not None:  # more than one block: the arrays in one read (codec.py)
            ids, weights, starts, firsts, values_at, bounds = trailer
        elif isinstance(m, W3LeafMatcher):  # one block
            id_blocks, weight_blocks, block_starts = _read_blocks(m)
            ids, weights = np.concatenate(id_blocks).astype(np.int32), np.concatenate(weight_blocks)
            starts = np.array(block_starts, dtype=np.int64)
            firsts = np.cumsum([0] + [len(b) for b in id_blocks[:-1]]).astype(np.int64)
        else:  # a term with very few postings is stored inline: a list matcher
            pairs = []
            while m.is_active():
                pairs.append((m.id(), m.weight()))
                m.next()
            ids = np.array([p[0] for p in pairs], dtype=np.int32)
            weights = np.array([p[1] for p in pairs], dtype=np.float32)
    value = (ids, weights, starts, firsts, values_at, bounds)
    _POSTINGS.put(key, value, ids.nbytes + weights.nbytes + (0 if starts is None else 16 * len(starts))
                  + (0 if bounds is None else bounds.nbytes) + 200)
    return value


_BLOCK_LENGTH = struct.Struct("!i")  # Whoosh's write_int: a block's length, negative for the last block


def _read_blocks(m: W3LeafMatcher) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """A term's posting blocks, parsed from one read of its whole extent: (document numbers, weights, file
    offset) per block. Whoosh's matcher reads each block's header with pickle.load on the file, a few bytes at a
    time; the layout is the one W3LeafMatcher._goto reads. Used for terms of one block (longer ones have a
    trailer)."""
    length = m._length[0] if isinstance(m._length, tuple) else m._length  # from_bytes leaves it a 1-tuple
    base = m._startoffset
    buf = m._postfile.get(base, length)
    stream = io.BytesIO(buf)
    id_blocks, weight_blocks, starts = [], [], []
    pos = len(WHOOSH3_HEADER_MAGIC)
    while True:
        (size,) = _BLOCK_LENGTH.unpack_from(buf, pos)
        end = pos + _BLOCK_LENGTH.size + abs(size)
        stream.seek(pos + _BLOCK_LENGTH.size)
        count, _, _, compression, _, _ = pickle.load(stream)  # block info: the data follows it
        data = buf[stream.tell():end]
        ids, weights, _ = pickle.loads(zlib.decompress(data) if compression else data)
        starts.append(base + pos)
        id_blocks.append(np.cumsum(np.asarray(ids, dtype=np.int64)))  # delta-coded
        # weights: None = all 1, a float = all that, else one per posting
        weight_blocks.append(np.full(count, 1.0 if weights is None else weights, dtype=np.float32)
                             if weights is None or isinstance(weights, float)
                             else np.asarray(weights, dtype=np.float32))
        if size < 0:
            return id_blocks, weight_blocks, starts
        pos = end


_DOC_FREQUENCY = struct.Struct("!I")  # in a W3 term info: flags (B), weight (f), then the document frequency
_ITEM_HEAD = struct.Struct("!ii")  # an item of Whoosh's term file: key length, value length (filetables._lengths)
_TERMS_CHUNK = 1 << 20


def term_frequencies(leaf, fieldname: str) -> Iterator[tuple[bytes, int]]:
    """(term bytes, document frequency) of every term of a field in one segment, in term order: Whoosh's
    iter_field decodes each whole term info (unpickling inlined postings) where only its frequency is needed
    (the vocabulary at 100,000 pages: 0.9 s of an update's suggestions), and its term file reader reads each
    item in three small reads."""
    terms = getattr(leaf, "_terms", None)
    tindex = getattr(terms, "_tindex", None)
    if terms is None or tindex is None or not hasattr(terms, "_keycoder") \
            or fieldname not in getattr(terms, "_fieldmap", {}):
        for term, info in leaf.iter_field(fieldname):
            yield term, info.doc_frequency()
        return
    prefix = terms._keycoder(fieldname, b"")
    start = len(prefix)
    pos = tindex.closest_key_pos(prefix)
    if pos is None:
        return
    # The items (key length, value length, key, value) are read a chunk at a time, not three reads an item.
    dbfile, end = tindex.dbfile, tindex.endofdata
    head, unpack_head, unpack_df = _ITEM_HEAD.size, _ITEM_HEAD.unpack_from, _DOC_FREQUENCY.unpack_from
    buf, base = b"", pos
    while pos < end:
        at = pos - base
        if at + head > len(buf):
            base, buf, at = pos, dbfile.get(pos, min(max(_TERMS_CHUNK, head), end - pos)), 0
        size = head + sum(unpack_head(buf, at))
        if at + size > len(buf):
            base, buf, at = pos, dbfile.get(pos, min(max(_TERMS_CHUNK, size), end - pos)), 0
        keylen, datalen = unpack_head(buf, at)
        key = buf[at + head:at + head + keylen]
        if not key.startswith(prefix):
            return
        yield key[start:], unpack_df(buf, at + head + keylen + 5)[0]
        pos += size


def _raw_matcher(leaf, fieldname: str, btext: bytes):
    m = leaf.postings(fieldname, btext)
    return m.child if isinstance(m, FilterMatcher) else m


def _positions(leaf, fieldname: str, btext: bytes, docs: np.ndarray) -> dict[int, list[int]]:
    """The positions of a term in each of ``docs`` (ascending docnums of one segment) that contain it: read where
    they stand when the trailer says where (codec.py), else from the posting blocks holding those documents."""
    ids, _, starts, firsts, values_at, bounds = _postings(leaf, fieldname, btext)
    if not len(ids) or not len(docs):
        return {}
    at = np.searchsorted(ids, docs)
    at[at >= len(ids)] = 0
    present = ids[at] == docs
    docs, at = docs[present], at[present]
    decode = leaf.schema[fieldname].format.decoder("positions")
    out: dict[int, list[int]] = {}
    postfile = getattr(getattr(leaf, "_terms", None), "_postfile", None)
    if bounds is not None and values_at is not None and postfile is not None:
        if not len(at):
            return out
        lows, highs = bounds[at], bounds[at + 1]
        span = int(highs[-1] - lows[0])
        if span <= _VALUES_SPAN:  # near each other: one read
            blob, base = postfile.get(values_at + int(lows[0]), span), int(lows[0])
            for doc, low, high in zip(docs.tolist(), lows.tolist(), highs.tolist(), strict=True):
                out[doc] = decode(blob[low - base:high - base])
        else:
            for doc, low, high in zip(docs.tolist(), lows.tolist(), highs.tolist(), strict=True):
                out[doc] = decode(postfile.get(values_at + low, high - low))
        return out
    if starts is None:
        m = _raw_matcher(leaf, fieldname, btext)
        wanted = set(docs.tolist())
        while m.is_active():
            if m.id() in wanted:
                out[m.id()] = decode(m.value())
            m.next()
        return out
    blocks = np.searchsorted(firsts, at, side="right") - 1
    segment = _segment_key(leaf)
    m = None  # made only when a block is not kept: making one reads the term's first block
    for block in np.unique(blocks).tolist():
        start = int(starts[block])
        values = _BLOCK_VALUES.get((segment, start))
        if values is None:
            m = m or _raw_matcher(leaf, fieldname, btext)
            m._goto(start)
            m._read_values()
            values = m._values
            _BLOCK_VALUES.put((segment, start), values, sum(map(len, values)) + 40 * len(values) + 100)
        for doc, i in zip(docs[blocks == block].tolist(), (at[blocks == block] - firsts[block]).tolist(),
                          strict=True):
            out[doc] = decode(values[i])
    return out


def _near_in_order(positions: list[list[int]], slop: int) -> bool:
    """Whoosh's SpanNear2(ordered, mindist=1) on single-word spans: the words occur in order, each 1 to
    ``slop`` positions after the previous one."""
    ends = set(positions[0])
    for nxt in positions[1:]:
        ends = {p for p in nxt if any(1 <= p - e <= slop for e in ends)}
        if not ends:
            return False
    return True


# Columns are read whole, in one file read, where their layout allows: Whoosh's readers fetch one document's
# value at a time (at 700,000 sections, ≈ 15 s per process for the lengths and facet columns).

def _numeric_column(column, n: int) -> np.ndarray:
    """A NumericColumn's value for each of ``n`` documents, as int64 or float64."""
    if isinstance(column, columns.NumericColumn.Reader):
        dtype = np.dtype(">" + column._typecode)
        if dtype.itemsize == column._fixedlen:
            count = min(column._count, n)
            stored = np.frombuffer(column._dbfile.get(column._basepos, count * dtype.itemsize), dtype=dtype)
            out = np.full(n, column._default, dtype=np.float64 if dtype.kind == "f" else np.int64)
            out[:count] = stored
            return out
    return np.fromiter(iter(column), dtype=np.int64, count=n)


def _bytes_column(leaf, fieldname: str) -> list:
    """A sortable text field's column value for every document of a segment (bytes, or str through Whoosh's
    translating reader)."""
    column = leaf.column_reader(fieldname, translate=False)
    if not isinstance(column, columns.VarBytesColumn.Reader):
        return list(leaf.column_reader(fieldname))
    lengths = column._lengths  # read by the reader's constructor
    blob = column._dbfile.get(column._basepos, sum(lengths))
    ends = list(itertools.accumulate(lengths))
    return [blob[end - size:end] for end, size in zip(ends, lengths, strict=True)]


def _lengths(leaf, fieldname: str) -> np.ndarray:
    """A field's length in every document of a segment, as Whoosh's scorer sees it (an absent length is 1)."""
    key = (_segment_key(leaf), "_len", fieldname)
    found = _COLUMNS.get(key)
    if found is not None:
        return found
    column = leaf._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
    n = leaf.doc_count_all()
    if column is None:
        lengths = np.ones(n, dtype=np.float64)
    else:
        lengths = _BYTE_TO_LENGTH[_numeric_column(column, n).astype(np.uint8)]
        lengths[lengths == 0] = 1.0
    _COLUMNS.put(key, lengths, lengths.nbytes)
    return lengths


def column_codes(leaf, fieldname: str) -> tuple[list[str], np.ndarray]:
    """A column's values in a segment as (labels, one label index per document)."""
    key = (_segment_key(leaf), "_codes", fieldname)
    found = _COLUMNS.get(key)
    if found is not None:
        return found
    values = [v.decode("utf-8", "ignore") if isinstance(v, bytes) else str(v or "")
              for v in _bytes_column(leaf, fieldname)]
    labels, codes = np.unique(np.array(values, dtype=object).astype(str), return_inverse=True)
    out = ([str(x) for x in labels], codes.astype(np.int32))
    _COLUMNS.put(key, out, codes.nbytes + sum(len(x) for x in out[0]) + 100)
    return out


_NO_NUMBER = 2**31 - 1  # what a NUMERIC column holds for a document without a value


def column_numbers(leaf, fieldname: str) -> np.ndarray:
    """A sortable numeric field's value in every document of a segment."""
    key = (_segment_key(leaf), "_numbers", fieldname)
    found = _COLUMNS.get(key)
    if found is not None:
        return found
    field = leaf.schema[fieldname]
    if isinstance(field, wf.NUMERIC) and field.numtype is int and not field.decimal_places:
        # Whoosh's from_sortable on the whole array: signed integers are stored shifted by half their range
        values = _numeric_column(leaf.column_reader(fieldname, translate=False), leaf.doc_count_all())
        if field.signed:
            values -= 1 << (field.bits - 1)
    else:
        values = np.fromiter(iter(leaf.column_reader(fieldname)), dtype=np.int64, count=leaf.doc_count_all())
    _COLUMNS.put(key, values, values.nbytes)
    return values


class _Leaf:
    """What evaluating a query needs of one segment: its reader, the top-level searcher (collection statistics,
    as Whoosh's scorer takes them) and the weighting."""

    def __init__(self, top, leaf_searcher, collection: tuple | None = None):
        self.top, self.searcher, self.reader = top, leaf_searcher, leaf_searcher.reader()
        self.capped = False  # see Matches.capped
        # what scores depend on beyond this segment (every segment of the searcher, the weighting): with it, a
        # word's alternatives evaluated here are kept for the next search of the same words (_EVALUATED)
        self.collection = collection
        # this segment's part of PHRASE_VERIFY
        share = self.reader.doc_count_all() / max(1, top.doc_count_all())
        self.phrase_verify = max(math.ceil(PHRASE_VERIFY * share), min(PHRASE_VERIFY, PHRASE_VERIFY_SEGMENT))
        weighting = top.weighting
        if type(weighting) is not scoring.BM25F:
            raise Unsupported(f"weighting {type(weighting).__name__}")
        self.weighting = weighting

    def term(self, q: wq.Term) -> tuple[np.ndarray, np.ndarray]:
        schema = self.top.schema
        if q.fieldname not in schema:
            return _EMPTY_IDS, _EMPTY_SCORES
        field = schema[q.fieldname]
        try:
            btext = field.to_bytes(q.text)
        except ValueError:
            return _EMPTY_IDS, _EMPTY_SCORES
        ids, tf = _read_postings(self.reader, q.fieldname, btext)
        if not len(ids):
            return _EMPTY_IDS, _EMPTY_SCORES
        if field.scorable:
            w = self.weighting
            b = w._field_B.get(q.fieldname, w.B)
            idf = self.top.idf(q.fieldname, btext)
            avgfl = self.top.avg_field_length(q.fieldname) or 1
            fl = _lengths(self.reader, q.fieldname)[ids]
            # whoosh.scoring.bm25, on arrays
            scores = idf * ((tf * (w.K1 + 1)) / (tf + w.K1 * ((1 - b) + b * fl / avgfl)))
        else:
            scores = tf.astype(np.float64)
        if q.boost != 1.0:
            scores = scores * q.boost
        return ids.astype(np.int64), scores.astype(np.float64)

    def evaluate(self, q: wq.Query, known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ascending docnums in this segment, scores, how many of the query's terms match each): the same
        matches and scores as q.matcher(). ``known``: inside an alternative (BestOf) only, the documents an
        earlier alternative matched; a phrase or literal alternative leaves them out (the best alternative's
        score is theirs already) instead of reading their positions or text."""
        if known is not None or self.collection is None or not isinstance(q, wq.DisjunctionMax):
            return self._evaluate(q, known)
        # A typed word's alternatives (BestOf): the all-word search, the check for words to back off and the
        # any-word supplement evaluate the same words in turn.
        key = (self.collection, _segment_key(self.reader), self.phrase_verify, LITERAL_VERIFY, q)
        found = _EVALUATED.get(key)
        if found is not None:
            self.capped |= found[3]
            return found[:3]
        capped_before, self.capped = self.capped, False
        out = self._evaluate(q, known)
        for array in out:
            array.flags.writeable = False  # shared from now on
        _EVALUATED.put(key, (*out, self.capped), sum(a.nbytes for a in out) + 200)
        self.capped |= capped_before
        return out

    def _evaluate(self, q: wq.Query, known: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if isinstance(q, wq.Term):
            ids, scores = self.term(q)
            return ids, scores, np.ones(len(ids), dtype=np.int32)
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return _EMPTY
        if isinstance(q, wq.AndNot):
            ids, scores, counts = self.evaluate(q.a)
            drop = self.evaluate(q.b)[0]
            keep = ~np.isin(ids, drop, assume_unique=True)
            return ids[keep], scores[keep], counts[keep]
        if isinstance(q, wq.AndMaybe):
            ids, scores, counts = self.evaluate(q.a)
            extra_ids, extra, extra_counts = self.evaluate(q.b)
            return ids, scores + _at(ids, extra_ids, extra), counts + _at(ids, extra_ids, extra_counts)
        if isinstance(q, wq.Or) and type(q) in (wq.Or, wq.DefaultOr):
            parts = [self.evaluate(s, known) for s in q.subqueries]
            if len(parts) == 1:  # Whoosh ignores a one-child compound's boost (and its coordination bonus)
                return parts[0]
            ids, scores, counts = _union(parts)
            if q.boost != 1.0:
                scores = scores * q.boost
            if q.scale:
                scores = self._coordinated(q, scores, counts)
            return ids, scores, counts
        if isinstance(q, wq.DisjunctionMax) and not q.tiebreak:
            parts = []
            for sub in q.subqueries:  # a phrase or literal alternative checks only what the others did not match
                matched = [p[0] for p in parts if len(p[0])]
                parts.append(self.evaluate(sub, (np.concatenate(matched) if matched else _EMPTY_IDS) if parts
                                           else None))
            if len(parts) == 1:
                return parts[0]
            ids, scores, counts = _union(parts, best=True)
            return ids, scores * q.boost if q.boost != 1.0 else scores, counts
        if type(q) is wq.And:
            parts = [self.evaluate(s) for s in q.subqueries]
            if not parts:
                return _EMPTY
            if len(parts) == 1:
                return parts[0]
            ids, scores, counts = _intersection(parts)
            return ids, scores * q.boost if q.boost != 1.0 else scores, counts
        if isinstance(q, wq.NumericRange):
            return self.numeric_range(q)
        if isinstance(q, LiteralQuery):
            return self.literal(q, known)
        if isinstance(q, wq.Phrase) and known is not None:
            return self.phrase(q, known)
        raise Unsupported(type(q).__name__)

    def phrase(self, q: wq.Phrase, known: np.ndarray):
        """A phrase (words in order, at most ``slop`` positions apart) as an alternative: the sum of its words'
        scores times its boost (Whoosh's phrase score), where their positions say so; ``known`` left out. Of
        more than the segment's part of PHRASE_VERIFY candidates only the best scored are checked (Whoosh's own
        phrase checks all)."""
        if q.fieldname not in self.top.schema or q.char_ranges or len(q.words) < 2:
            raise Unsupported("phrase")
        parts = [self.evaluate(wq.Term(q.fieldname, w)) for w in q.words]
        ids, scores, _ = _intersection(parts)
        if len(ids) and len(known):
            keep = ~np.isin(ids, known)
            ids, scores = ids[keep], scores[keep]
        if not len(ids):
            return _EMPTY
        if len(ids) > self.phrase_verify:  # the best scored (ties: the earlier section), in section order again
            self.capped = True
            best = np.lexsort((ids, -scores))[:self.phrase_verify]
            best.sort()
            ids, scores = ids[best], scores[best]
        field = self.top.schema[q.fieldname]
        where = [_positions(self.reader, q.fieldname, field.to_bytes(w), ids) for w in q.words]
        near = np.array([_near_in_order([w[d] for w in where], q.slop) for d in ids.tolist()], dtype=bool)
        ids, scores = ids[near], scores[near] * q.boost
        return ids, scores, np.ones(len(ids), dtype=np.int32)

    def _holds(self, q: LiteralQuery, docnum: int) -> bool:
        """Whether a section's heading + text hold the literal key. Sections rich in common characters are
        candidates of many queries: their literal keys are kept (per process, LITERAL_KEYS bytes)."""
        cache_key = (_segment_key(self.reader), docnum)
        text = _LITERAL_KEYS.get(cache_key)
        if text is None:
            raw = q.text_of(self.searcher, docnum)
            if q.key in raw:  # as written: most matches need no normalising
                return True
            text = literal_key(raw)
            _LITERAL_KEYS.put(cache_key, text, 2 * len(text) + 80)
        return q.key in text

    def literal(self, q: LiteralQuery, known: np.ndarray | None = None):
        """LiteralQuery's matches in this segment (see there); ``known``: docnums matched otherwise, not checked."""
        if not q.grams or "grams" not in self.top.schema:
            return _EMPTY
        field = self.top.schema["grams"]
        btexts = [field.to_bytes(g) for g in q.grams]
        postings = sorted((_read_postings(self.reader, "grams", b)[0] for b in btexts), key=len)
        ids = postings[0].astype(np.int64)
        for other in postings[1:]:
            if not len(ids):
                return _EMPTY
            ids = _sorted_intersect(ids, other.astype(np.int64, copy=False))
        if not len(ids):
            return _EMPTY
        if len(q.key) > 2:
            check = ids if known is None else ids[~np.isin(ids, known)]
            if 0 < len(check) <= LITERAL_VERIFY:
                wrong = [d for d in check.tolist() if not self._holds(q, d)]
                if wrong:
                    ids = ids[~np.isin(ids, np.array(wrong, dtype=np.int64))]
        w = self.weighting
        idf = max(self.top.idf("grams", b) for b in btexts)
        b = w._field_B.get("text", w.B)
        fl = _lengths(self.reader, "text")[ids]
        avgfl = self.top.avg_field_length("text") or 1
        scores = q.boost * idf * (w.K1 + 1) / (1 + w.K1 * ((1 - b) + b * fl / avgfl))
        return ids, scores.astype(np.float64), np.ones(len(ids), dtype=np.int32)

    def numeric_range(self, q: wq.NumericRange):
        """A range of a sortable numeric field, read from its column; a constant score, as in Whoosh."""
        schema = self.top.schema
        field = schema[q.fieldname] if q.fieldname in schema else None  # noqa: SIM401 (a Schema has no get())
        if not isinstance(field, wf.NUMERIC) or field.column_type is None or field.numtype is not int \
                or field.bits != 32:
            raise Unsupported(f"range over {q.fieldname}")
        values = column_numbers(self.reader, q.fieldname)
        keep = values != _NO_NUMBER
        if q.start is not None:
            keep &= (values > q.start) if q.startexcl else (values >= q.start)
        if q.end is not None:
            keep &= (values < q.end) if q.endexcl else (values <= q.end)
        ids = np.nonzero(keep)[0].astype(np.int64)
        return ids, np.full(len(ids), float(q.boost)), np.zeros(len(ids), dtype=np.int32)

    def _coordinated(self, q: wq.Or, scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Whoosh's CoordMatcher ("SQR" of V-Twin): more of the query's terms matched, a higher score. Whoosh
        counts the terms per segment, and only those its matcher tree exposes (a pre-loaded union hides its
        terms), so the same section scores differently in different segments; here the count is the query's
        own number of terms, the same in every segment."""
        terms = sum(1 for _ in _terms(q))
        scale = q.scale
        if terms == 0 or terms == scale:
            return np.zeros(len(scores), dtype=np.float64)
        return (scores + (counts - 1) / (terms - scale) ** 2) * ((terms - 1) / terms)

    def matches_only(self, q: wq.Query) -> np.ndarray:
        return self.evaluate(q)[0]


def _terms(q: wq.Query):
    if isinstance(q, wq.Term):
        yield q
    elif isinstance(q, (wq.AndNot, wq.AndMaybe)):
        yield from _terms(q.a)
        if isinstance(q, wq.AndMaybe):
            yield from _terms(q.b)
    elif isinstance(q, wq.CompoundQuery):
        for sub in q.subqueries:
            yield from _terms(sub)


def _union(parts, best: bool = False):
    """Documents matching any part; their score is the parts' sum, or with ``best`` the score of the first
    part that matches them (store.BestOf: alternatives in order of preference, not evidence to add up)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return _EMPTY
    if len(parts) == 1:
        return parts[0]
    ids, first, inverse = np.unique(np.concatenate([p[0] for p in parts]), return_index=True, return_inverse=True)
    values = np.concatenate([p[1] for p in parts])
    # The parts are concatenated in order: with ``best``, a document's first occurrence is its preferred part.
    scores = values[first] if best else np.bincount(inverse, weights=values, minlength=len(ids))
    counts = np.bincount(inverse, weights=np.concatenate([p[2] for p in parts]), minlength=len(ids))
    return ids, scores, counts.astype(np.int32)


def _sorted_intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both of two ascending arrays of distinct values: the shorter one looked up in the longer
    (np.intersect1d sorts both together: at 100,000 pages a common word's 600,000 sections for a rare word's
    few, a tenth of a query)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    at = np.searchsorted(b, a)
    at[at >= len(b)] = 0
    return a[b[at] == a]


def _intersection(parts):
    ids = parts[0][0]
    for other in parts[1:]:
        ids = _sorted_intersect(ids, other[0])
        if not len(ids):
            return _EMPTY
    scores = np.zeros(len(ids), dtype=np.float64)
    counts = np.zeros(len(ids), dtype=np.int32)
    for part_ids, part_scores, part_counts in parts:
        at = np.searchsorted(part_ids, ids)
        scores += part_scores[at]
        counts += part_counts[at]
    return ids, scores, counts


def _at(ids: np.ndarray, other_ids: np.ndarray, other_values: np.ndarray) -> np.ndarray:
    """other's value at each of ids (0 where other does not match)."""
    if not len(other_ids) or not len(ids):
        return np.zeros(len(ids), dtype=other_values.dtype)
    at = np.searchsorted(other_ids, ids)
    at[at >= len(other_ids)] = 0
    return np.where(other_ids[at] == ids, other_values[at], 0).astype(other_values.dtype)


def _live(leaf_reader, ids: np.ndarray) -> np.ndarray | None:
    """Which of ids are not deleted (a boolean mask), or None when the segment has no deletions."""
    if not leaf_reader.has_deletions():
        return None
    return ~np.isin(ids, np.fromiter(leaf_reader.deleted_docs_set, dtype=np.int64))


def match(searcher, q: wq.Query, filter_q: wq.Query | None = None) -> tuple[Matches, wq.Query | None]:
    """Every match of ``q`` (restricted to ``filter_q``'s, unscored) with its score. An ``AndMaybe`` whose
    optional part cannot be evaluated here (a phrase) is split off and returned, to be scored by
    :func:`rerank`. Raises Unsupported."""
    optional = None
    if isinstance(q, wq.AndMaybe):
        try:
            _check(q.b)
        except Unsupported:
            q, optional = q.a, q.b
    _check(q)
    if filter_q is not None:
        _check(filter_q)
    all_ids, all_scores = [], []
    capped = False
    leaves = searcher.leaf_searchers()
    w = searcher.weighting
    collection = (tuple((_segment_key(sub.reader()), sub.reader().doc_count()) for sub, _ in leaves),
                  type(w).__name__, w.K1, w.B,
                  tuple(sorted(getattr(w, "_field_B", {}).items())))
    for sub, offset in leaves:
        leaf = _Leaf(searcher, sub, collection)
        ids, scores, _ = leaf.evaluate(q)
        capped |= leaf.capped
        if filter_q is not None and len(ids):
            keep = np.isin(ids, leaf.matches_only(filter_q))
            ids, scores = ids[keep], scores[keep]
        live = _live(leaf.reader, ids)
        if live is not None:
            ids, scores = ids[live], scores[live]
        all_ids.append(ids + offset)
        all_scores.append(scores)
    if not all_ids:
        return Matches(_EMPTY_IDS, _EMPTY_SCORES), optional
    return Matches(np.concatenate(all_ids), np.concatenate(all_scores), capped), optional


def _check(q: wq.Query, alternative: bool = False) -> None:
    """Raise Unsupported unless every node of q can be evaluated here (before any work is done). A phrase can,
    as a later alternative of a BestOf (``alternative``)."""
    if isinstance(q, wq.Term) or q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return
    if isinstance(q, (wq.NumericRange, LiteralQuery)):
        return
    if isinstance(q, (wq.AndNot, wq.AndMaybe)):
        _check(q.a)
        _check(q.b)
        return
    if isinstance(q, wq.DisjunctionMax) and not q.tiebreak:
        for n, s in enumerate(q.subqueries):
            _check(s, alternative=n > 0)
        return
    if type(q) in (wq.Or, wq.DefaultOr, wq.And):
        for s in q.subqueries:
            _check(s, alternative and type(q) is not wq.And)
        return
    if alternative and isinstance(q, wq.Phrase) and not q.char_ranges and len(q.words) > 1:
        return  # a later alternative of a BestOf (Leaf.phrase)
    raise Unsupported(type(q).__name__)


def top(searcher, matches: Matches, limit: int, optional: wq.Query | None = None) -> list[tuple[int, float]]:
    """The best ``limit`` matches as (docnum, score), best first; ties in document order, as Whoosh breaks
    them. ``optional`` (split off by match()) adds its score to the best max(RERANK, 2 × limit) candidates."""
    n = len(matches.docnums)
    if not n:
        return []
    docnums, scores = matches.docnums, matches.scores
    if optional is not None:
        k = min(n, max(RERANK, 2 * limit))
        cand = _best(docnums, scores, k)
        docnums, scores = docnums[cand], scores[cand].copy()
        order = np.argsort(docnums)
        docnums, scores = docnums[order], scores[order]
        if isinstance(optional, wq.Phrase) and not optional.char_ranges and len(optional.words) > 1:
            scores += _phrase_scores(searcher, optional, docnums)
        else:
            scores += _matcher_scores(searcher, optional, docnums)
    best = _best(docnums, scores, min(limit, len(docnums)))
    return [(int(docnums[i]), float(scores[i])) for i in best]


def _best(docnums: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best (score descending, docnum ascending), in that order."""
    if k < len(scores):
        # Keep every candidate tied with the k-th score, so the docnum tie-break is exact.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        pool = np.nonzero(scores >= kth)[0]
    else:
        pool = np.arange(len(scores))
    order = np.lexsort((docnums[pool], -scores[pool]))
    return pool[order[:k]]


def _segments(searcher, docnums: np.ndarray):
    """Each segment holding some of the (ascending, global) docnums: (leaf searcher, its first docnum, and the
    slice docnums[lo:hi] that falls in it)."""
    for sub, offset in searcher.leaf_searchers():
        lo, hi = np.searchsorted(docnums, [offset, offset + sub.reader().doc_count_all()])
        if lo < hi:
            yield sub, offset, int(lo), int(hi)


def _phrase_scores(searcher, q: wq.Phrase, docnums: np.ndarray) -> np.ndarray:
    """What Whoosh's matcher scores a Phrase (with slop) at each of the ascending global docnums: the sum of its
    words' scores in the field, times the phrase's boost, where the words stand near each other in order;
    0 elsewhere. Positions are read only for these documents."""
    out = np.zeros(len(docnums), dtype=np.float64)
    if q.fieldname not in searcher.schema:
        return out
    field = searcher.schema[q.fieldname]
    btexts = [field.to_bytes(w) for w in q.words]
    for sub, offset, lo, hi in _segments(searcher, docnums):
        local = docnums[lo:hi] - offset
        leaf = _Leaf(searcher, sub)
        total = np.zeros(len(local), dtype=np.float64)
        has_all = np.ones(len(local), dtype=bool)
        for word in q.words:
            ids, scores, _ = leaf.evaluate(wq.Term(q.fieldname, word))
            total += _at(local, ids, scores)
            has_all &= np.isin(local, ids)
        if not has_all.any():
            continue
        docs = local[has_all]
        where = [_positions(leaf.reader, q.fieldname, b, docs) for b in btexts]
        near = np.array([_near_in_order([w[d] for w in where], q.slop) for d in docs.tolist()])
        hit = np.nonzero(has_all)[0][near]
        out[lo + hit] = total[hit] * q.boost
    return out


def _matcher_scores(searcher, q: wq.Query, docnums: np.ndarray) -> np.ndarray:
    """Whoosh's own score of q at each of the (ascending, global) docnums; 0 where q does not match."""
    out = np.zeros(len(docnums), dtype=np.float64)
    context = searcher.context(needs_current=True, weighting=searcher.weighting)
    for sub, offset, lo, hi in _segments(searcher, docnums):
        m = q.matcher(sub, context)
        for i in range(lo, hi):
            if not m.is_active():
                break
            local = int(docnums[i]) - offset
            if m.id() < local:
                m.skip_to(local)
                if not m.is_active():
                    break
            if m.id() == local:
                out[i] = m.score()
    return out


def column_documents(leaf) -> np.ndarray:
    """The document each section of a segment belongs to, as an ordinal within the segment. A page's sections
    are written together, document by document and each in order, so a document starts wherever the section
    number does not go up (no column of document ids to read)."""
    key = (_segment_key(leaf), "_documents")
    found = _COLUMNS.get(key)
    if found is not None:
        return found
    numbers = column_numbers(leaf, "section_index")
    starts = np.ones(len(numbers), dtype=np.int64)
    starts[1:] = numbers[1:] <= numbers[:-1]
    ordinals = np.cumsum(starts) - 1
    _COLUMNS.put(key, ordinals, ordinals.nbytes)
    return ordinals


def facet_values(searcher, docnum: int, fields: dict[str, str]) -> dict[str, str]:
    """One section's value of each facet column ("" when it has none), from the per-segment code arrays."""
    for sub, offset in searcher.leaf_searchers():
        local = docnum - offset
        if 0 <= local < sub.reader().doc_count_all():
            out = {}
            for name, fieldname in fields.items():
                labels, codes = column_codes(sub.reader(), fieldname)
                out[name] = labels[codes[local]]
            return out
    raise IndexError(docnum)


def count_matches(searcher, docnums: np.ndarray, fields: dict[str, str]) -> tuple[int, dict[str, dict[str, int]]]:
    """The documents the (ascending, global) matching sections belong to, and per value of each facet column
    the documents with a matching section of that value (empty values left out), most frequent first: what
    a click on the value shows, grouped by document."""
    documents = 0
    tallies: dict[str, dict[str, int]] = {name: {} for name in fields}
    for sub, offset, lo, hi in _segments(searcher, docnums):
        local = docnums[lo:hi] - offset
        docs = column_documents(sub.reader())[local]
        # docs never goes down (sections are numbered document by document): a new document is a change, and
        # counting changes spares hashing every match (np.unique: a fifth of a broad query's CPU at 100k pages)
        new_doc = np.empty(len(docs), dtype=bool)
        new_doc[:1] = True
        np.not_equal(docs[1:], docs[:-1], out=new_doc[1:])
        documents += int(np.count_nonzero(new_doc))
        for name, fieldname in fields.items():
            labels, codes = column_codes(sub.reader(), fieldname)
            values = codes[local]
            if not np.any((values[1:] != values[:-1]) & ~new_doc[1:]):
                # every document's matches share the value (it is a page's or a document's): one per document
                counts = np.bincount(values[new_doc], minlength=len(labels))
            else:
                pairs = np.unique(docs * len(labels) + values)
                counts = np.bincount(pairs % len(labels), minlength=len(labels))
            tally = tallies[name]
            for label, count in zip(labels, counts.tolist(), strict=True):
                if count and label:
                    tally[label] = tally.get(label, 0) + count
    return documents, {name: dict(sorted(t.items(), key=lambda kv: -kv[1])) for name, t in tallies.items()}
