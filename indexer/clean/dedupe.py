"""Exact and near-duplicate documents on one page (MinHash over character shingles, datasketch)."""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from functools import lru_cache

from indexer.clean.text import WS
from indexer.model import Document

SHINGLE = 5
NUM_PERM = 64
THRESHOLD = 0.8


def _body(doc: Document) -> str:
    return WS.sub("", "".join(s.heading + s.text for s in doc.sections))


@lru_cache(maxsize=1)
def _permutations():
    from datasketch import MinHash  # on first use: importing datasketch takes ~0.6 s, most commands never need it

    m = MinHash(num_perm=NUM_PERM, seed=7, hashfunc=zlib.crc32)  # generating the permutations is the slow part
    return m.permutations, getattr(m, "scheme", None)


def _minhash(text: str):
    from datasketch import MinHash  # see _permutations

    perms, scheme = _permutations()
    kw = {"scheme": scheme} if scheme else {}
    m = MinHash(num_perm=NUM_PERM, seed=7, permutations=perms, hashfunc=zlib.crc32, **kw)
    grams = {text[i:i + SHINGLE] for i in range(max(1, len(text) - SHINGLE + 1))}
    m.update_batch([g.encode("utf-8") for g in grams])
    return m


def mark_duplicates(docs: list[Document], threshold: float = THRESHOLD) -> list[Document]:
    """Return docs with ``duplicate_of`` set to the index of the first near-identical document."""
    if len(docs) < 2:
        return docs
    bodies = [_body(d) for d in docs]
    digests = [hashlib.blake2b(b.encode("utf-8"), digest_size=16).digest() for b in bodies]
    hashes = [None] * len(docs)
    out = list(docs)
    for i in range(len(docs)):
        if not bodies[i]:
            continue
        for j in range(i):
            if out[j].duplicate_of is not None or not bodies[j]:
                continue
            if digests[i] == digests[j]:
                out[i] = dataclasses.replace(out[i], duplicate_of=j)
                break
            short, long_ = sorted((len(bodies[i]), len(bodies[j])))
            if short < 0.6 * long_:
                continue
            a = hashes[i] = hashes[i] or _minhash(bodies[i])
            b = hashes[j] = hashes[j] or _minhash(bodies[j])
            if a.jaccard(b) >= threshold:
                out[i] = dataclasses.replace(out[i], duplicate_of=j)
                break
    return out
