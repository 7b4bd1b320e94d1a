"""Normalise + tokenise Chinese text: the one analyser for index and query time.

Pure Python (no Whoosh here): ``indexer.store`` wraps :func:`Analyzer.tokens` in a Whoosh tokenizer.

* Normalisation (NFKC, traditional → simplified, case folding) runs per character, so every token keeps
  offsets into the *original* text and highlighting never drifts.
* Index mode: jieba's coarse cut gives the word positions (0, 1, 2 …); the dictionary sub-words of a long
  word (中华人民共和国 → 中华, 人民, 共和国) are stacked on their parent's position, the way jieba's
  search mode finds them. Phrase queries therefore see neighbouring words one position apart.
* Query mode: the coarse cut only.
* Synonyms map every member of a group to the group's first term, at both index and query time.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba
from opencc import OpenCC

_OPENCC = OpenCC("t2s")
_WORD_CHAR = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_init_lock = threading.Lock()
_initialised: dict[str, bool] = {}

STOPWORDS_FILE = Path(__file__).parent / "data" / "stopwords.txt"
STOPWORDS = frozenset(
    w.strip() for w in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines() if w.strip() and not w.startswith("#")
)


@dataclass(frozen=True)
class Token:
    text: str  # normalised term
    pos: int  # word position
    start: int  # offset into the original text
    end: int


@lru_cache(maxsize=65536)
def _norm_char(ch: str) -> str:
    """NFKC + traditional→simplified + lower case for one character (may be "" or several chars)."""
    out = unicodedata.normalize("NFKC", ch).lower()
    if len(out) == 1 and _HAN.match(out):
        simp = _OPENCC.convert(out)
        if len(simp) == 1:
            out = simp
    return out


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for every normalised char, the index of the original char it came from."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        n = ch if ch.isascii() and not ch.isupper() else _norm_char(ch)
        out.append(n)
        origin.extend([i] * len(n))
    return "".join(out), origin


def normalise(text: str) -> str:
    return normalise_with_map(text)[0]


def _phrase_convert(text: str) -> str:
    """Phrase-level t2s where it keeps the length (OpenCC knows phrases a per-char map cannot)."""
    conv = _OPENCC.convert(text)
    return conv if len(conv) == len(text) else text


def init_jieba(cache_dir: str | Path | None, user_dicts: list[str | Path] = (), extra_words=()) -> None:
    """Point jieba's cache at a folder we own, load dictionaries, and initialise once per process."""
    key = repr((str(cache_dir), [str(p) for p in user_dicts], tuple(extra_words)))
    with _init_lock:
        if _initialised.get(key):
            return
        jieba.setLogLevel(logging.WARNING)
        if cache_dir is not None:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(cache_dir)
        jieba.initialize()
        for p in user_dicts:
            if p and Path(p).is_file():
                with open(p, "rb") as fh:  # jieba leaves a path it opens unclosed
                    jieba.load_userdict(fh)
        for w in extra_words:
            jieba.add_word(w)
        _initialised.clear()
        _initialised[key] = True


class Analyzer:
    """Tokenises text for the index and for queries; holds the synonym table."""

    def __init__(self, synonyms: list[list[str]] | None = None, stopwords=STOPWORDS, bigram_fallback: bool = True):
        # Whether the store keeps the character-bigram fallback field (about half of build time and index size).
        self.bigram_fallback = bigram_fallback
        self.stopwords = frozenset(normalise(w) for w in stopwords)
        self.synonyms: dict[str, str] = {}
        for group in synonyms or []:
            terms = [normalise(t) for t in group if t]
            for t in terms:
                self.synonyms[t] = terms[0]

    def canonical(self, term: str) -> str:
        return self.synonyms.get(term, term)

    def tokens(self, text: str, mode: str = "index") -> list[Token]:
        """Tokens in word order; ``mode`` is "index" (with stacked sub-words) or "query"."""
        norm, origin = normalise_with_map(text)
        norm = _phrase_convert(norm)
        out: list[Token] = []
        pos = 0
        offset = 0
        for word in jieba.cut(norm, HMM=True):
            start, end = offset, offset + len(word)
            offset = end
            if not _WORD_CHAR.search(word):
                continue  # punctuation and spaces take no position
            if word in self.stopwords:
                continue
            o_start, o_end = origin[start], origin[end - 1] + 1
            out.append(Token(self.canonical(word), pos, o_start, o_end))
            if mode == "index" and len(word) > 2:
                for sub, s, e in _subwords(word):
                    out.append(Token(self.canonical(sub), pos, origin[start + s], origin[start + e - 1] + 1))
            pos += 1
        return out

    def terms(self, text: str, mode: str = "query") -> list[str]:
        return [t.text for t in self.tokens(text, mode)]


def _subwords(word: str):
    """Dictionary words inside a longer word. jieba's search mode stops at length 3; we go up to the
    word's length - 1 (capped at 6), so 困难职工 is still found inside 春节困难职工."""
    freq = jieba.dt.FREQ
    seen = {word}
    for n in range(2, min(len(word), 7)):
        for i in range(len(word) - n + 1):
            gram = word[i:i + n]
            if gram not in seen and freq.get(gram):
                seen.add(gram)
                yield gram, i, i + n


def cover_subwords(word: str) -> list[str]:
    """Dictionary words that split ``word`` end to end (民主管理 → [民主, 管理]), or [] if none do."""
    freq = jieba.dt.FREQ
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 2, min(n, i + 4) + 1):
            piece = word[i:j]
            if (j - i < n) and freq.get(piece) and (best[j] is None or len(best[j]) > len(best[i]) + 1):
                best[j] = best[i] + [piece]
    return best[n] or []


def bigrams(text: str) -> list[Token]:
    """Overlapping character bigrams of the normalised Han/alphanumeric runs (fallback field)."""
    norm, origin = normalise_with_map(text)
    out: list[Token] = []
    pos = 0
    run: list[int] = []

    def flush():
        nonlocal pos
        if len(run) == 1:
            i = run[0]
            out.append(Token(norm[i], pos, origin[i], origin[i] + 1))
            pos += 1
        for a, b in zip(run, run[1:], strict=False):
            out.append(Token(norm[a] + norm[b], pos, origin[a], origin[b] + 1))
            pos += 1
        run.clear()

    for i, ch in enumerate(norm):
        if _WORD_CHAR.match(ch):
            run.append(i)
        else:
            flush()
    flush()
    return out
