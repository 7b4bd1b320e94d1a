"""Normalise + tokenise Chinese text: the one analyser for index and query time.

Pure Python (no Whoosh here): ``indexer.backends.whoosh.schema`` wraps :func:`Analyzer.tokens` in a Whoosh tokenizer.

* Normalisation (NFKC, traditional → simplified, case folding) runs per character, so every token keeps
  offsets into the *original* text and highlighting never drifts. It runs as one ``str.translate`` over a
  table filled on demand; OpenCC's phrase-level t2s pass only runs on the pieces of text that hold a
  character or phrase its dictionaries change (most text is simplified already).
* Index mode: jieba's coarse cut gives the word positions (0, 1, 2 …); the dictionary sub-words of a long
  word (中华人民共和国 → 中华, 人民, 共和国) are stacked on their parent's position, the way jieba's
  search mode finds them. Phrase queries therefore see neighbouring words one position apart.
* Query mode: the coarse cut only.
* The cut (:func:`cut`) is jieba's; with the optional extra "fast" (jieba_fast) installed, jieba_fast's C kernel
  finds the best path through the word graph. ``TOKENIZER`` names the cut in use (see the note at :func:`cut`).
* Synonyms map every member of a group to the group's first term, at both index and query time.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import jieba
from jieba import finalseg
from opencc import OpenCC

if TYPE_CHECKING:
    from indexer.config import Config

try:  # the C word-graph kernel of jieba_fast, when the optional extra "fast" is installed
    from _jieba_fast_functions_py3 import _get_DAG_and_calc as _c_dag_route  # type: ignore[import-not-found]
except ImportError:
    _c_dag_route = None

_OPENCC = OpenCC("t2s")
WORD_CHAR = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]")  # what a word (and a literal key) is made of
_WORD_RUN = re.compile(WORD_CHAR.pattern + "+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_init_lock = threading.Lock()
_initialised: dict[str, bool] = {}

STOPWORDS_FILE = Path(__file__).parent / "data" / "stopwords.txt"
STOPWORDS = frozenset(
    w.strip() for w in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines() if w.strip() and not w.startswith("#")
)


class Token(NamedTuple):  # a tuple: built several times faster than a frozen dataclass (one per posting)
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


class _NormTable(dict):
    """``str.translate`` table of :func:`_norm_char`, filled on first sight of each code point. Characters
    that do not normalise to exactly one character (… → ..., ﬁ → fi) are kept in ``irregular``."""

    irregular: re.Pattern | None = None  # a class of every such character seen so far (None: none yet)
    shrinks = False  # whether one of them gave "" (none does: NFKC and lower() never drop a character)
    _seen: set[str] = set()

    def __missing__(self, code: int) -> str:
        if len(self) >= 1 << 17:  # bounded even when fed all of Unicode
            self.clear()
        ch = chr(code)
        out = _norm_char(ch)
        if len(out) != 1 and ch not in _NormTable._seen:  # recorded before any thread can find it in the table
            _NormTable._seen.add(ch)
            _NormTable.irregular = re.compile("[" + "".join(re.escape(c) for c in sorted(_NormTable._seen)) + "]")
            _NormTable.shrinks = _NormTable.shrinks or not out
        self[code] = out
        return out


_NORM_TABLE = _NormTable()


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for every normalised char, the index of the original char it came from."""
    norm = text.translate(_NORM_TABLE)  # looks every char up, so `irregular` now covers this text
    if len(norm) == len(text) and not _NormTable.shrinks:
        return norm, list(range(len(text)))  # every char gave one char
    origin: list[int] = []
    done = 0
    irregular = _NormTable.irregular
    assert irregular is not None  # set by the translate above when a character shrinks or grows
    for m in irregular.finditer(text):
        i = m.start()
        origin.extend(range(done, i))
        origin.extend([i] * len(_norm_char(text[i])))
        done = i + 1
    origin.extend(range(done, len(text)))
    return norm, origin


def normalise(text: str) -> str:
    return text.translate(_NORM_TABLE)


def squash(text: str) -> str:
    """Normalised text without whitespace: what a literal phrase is compared on."""
    return "".join(normalise(text).split())


def literal_key(text: str) -> str:
    """Normalised text with everything but letters, digits and Han removed: what a literal match compares
    ("“安康杯”竞赛" and "安康杯 竞赛" both give 安康杯竞赛)."""
    return "".join(_WORD_RUN.findall(normalise(text)))


def pairs(key: str) -> list[str]:
    """Every character bigram of a literal key, in order (a phrase of them is the key)."""
    return [key[i:i + 2] for i in range(len(key) - 1)]


def grams(key: str) -> list[str]:
    """The distinct character bigrams of a literal key, in order of first appearance (the index's ``grams``
    field holds them for every section: a section holds a literal only if it holds all its bigrams)."""
    return list(dict.fromkeys(pairs(key)))


def _alternation(words: list[str]) -> str:
    """A regex matching any of ``words``, as a trie (一目瞭然|反(?:覆|反覆覆)…): every branch starts with a
    literal, so ``re`` scans for the first characters in C and tries few branches where one occurs."""
    trie: dict = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def branches(node: dict) -> list[str]:
        return [re.escape(c) + rest(sub) for c, sub in sorted(node.items()) if c]

    def rest(node: dict) -> str:
        alts = branches(node)
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:  # a word ends here: what follows is optional
            body = body + "?" if len(alts) > 1 else "(?:" + body + ")?"
        return body

    return "|".join(branches(trie))


def _t2s_triggers() -> tuple[re.Pattern, re.Pattern | None] | None:
    """Two patterns such that a text neither matches cannot be changed by OpenCC's t2s conversion, taken
    from the dictionaries the converter holds: (a character its character table changes, a phrase that
    changes something and holds no such character).

    t2s is one dictionary group: phrases (longest match first), then single characters for the rest. A phrase
    whose value is itself and that holds no changing character changes nothing, even when it matches. None
    (always convert) if OpenCC's tables are not of the shape this relies on."""
    try:
        (group,) = _OPENCC._dict_chain_data
        tables = [table for _, _, table in group]
    except (AttributeError, TypeError, ValueError):
        return None
    if not tables or not all(isinstance(t, dict) for t in tables):
        return None

    def first(value: str) -> str:
        return value.split(" ")[0]  # what OpenCC uses of a multiple mapping

    changed = {k for t in tables for k, v in t.items() if len(k) == 1 and first(v) != k}
    phrases = [k for t in tables for k, v in t.items()
               if len(k) > 1 and first(v) != k and not any(c in changed for c in k)]
    # Non-BMP characters make `re` test a class member by member: take them all (they are rare in text).
    bmp = "".join(re.escape(c) for c in sorted(changed) if ord(c) < 0x10000)
    chars = re.compile(f"[{bmp}\U00010000-\U0010FFFF]")
    return chars, (re.compile(_alternation(phrases)) if phrases else None)


_T2S_TRIGGERS = _t2s_triggers()


def _t2s_may_change(text: str) -> bool:
    if _T2S_TRIGGERS is None:  # OpenCC's tables were not of the expected shape: always convert
        return True
    chars, phrases = _T2S_TRIGGERS
    return bool(chars.search(text) or (phrases and phrases.search(text)))


def t2s(text: str) -> str:
    """Exactly ``OpenCC("t2s").convert(text)``, fast on text that is simplified already: only the pieces that
    may change are converted (OpenCC splits the text at punctuation and spaces and converts each piece on its
    own), and the converter's dictionaries are loaded once per process, not per converter."""
    if _T2S_TRIGGERS is None:
        return _OPENCC.convert(text)
    if not _t2s_may_change(text):
        return text
    pieces = _OPENCC.split_chars_re.split(text)
    for i in range(0, len(pieces), 2):  # odd items are the separators
        if _t2s_may_change(pieces[i]):
            pieces[i] = _OPENCC.convert(pieces[i])
    return "".join(pieces)


def _phrase_convert(text: str) -> str:
    """Phrase-level t2s where it keeps the length (OpenCC knows phrases a per-char map cannot)."""
    conv = t2s(text)
    return conv if len(conv) == len(text) else text


def init_jieba(cache_dir: str | Path | None, user_dicts: Sequence[str | Path] = (),
               extra_words: Iterable[str] = ()) -> None:
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
        _subwords_in.cache_clear()
        _initialised.clear()
        _initialised[key] = True


# ---- the word cut -------------------------------------------------------------------------------------------
#
# jieba's accurate mode with HMM (jieba.cut(text, HMM=True)) on jieba's own dictionary. With jieba_fast installed
# the best path through each block's word graph comes from jieba_fast's C kernel and the rest is jieba's code
# restated; otherwise jieba.cut itself runs. Both give the same words, except where two cuts of a block score
# exactly the same (a float tie): jieba then takes the longer first word, the kernel the shorter. Most ties are
# in runs of a repeated character or syllable (好好好好好, 哈哈哈): blocks holding one go to jieba. The others need
# words of equal frequency in a row (戏评/评戏 in 评戏评) and were never seen on our pages, but they can happen:
# so the cut in use is part of what an index is built from, and TOKENIZER names it.

_C_MAX_BLOCK = 256  # the kernel leaks an int object for every position past 256 (smaller ints are shared)
_REPEATS = re.compile(r"(.{1,4})\1\1")  # a unit three times in a row: cuts of it tie, jieba breaks the ties
_C_MAX_ENDS = 12  # the kernel keeps at most 12 word ends per position
_c_checked: tuple = ((), False)  # (dictionary state, whether no position can have more word ends than that)


def _tokenizer_name() -> str:
    name = f"jieba {jieba.__version__}"
    if _c_dag_route is not None:
        try:
            name += f" + jieba_fast {importlib.metadata.version('jieba_fast')} kernel"
        except importlib.metadata.PackageNotFoundError:
            name += " + jieba_fast kernel"
    return name


TOKENIZER = _tokenizer_name()  # the cut this process uses ("jieba 0.42.1" or "… + jieba_fast 0.53 kernel")


def _kernel_fits(dt) -> bool:
    """Whether the C kernel sees every word end with this dictionary: no word has more than 12 word prefixes
    (itself included). Only words longer than 12 characters can; checked again after the dictionary changes."""
    global _c_checked
    state = (id(dt.FREQ), len(dt.FREQ), dt.total)
    if _c_checked[0] != state:
        freq = dt.FREQ
        fits = all(sum(1 for i in range(1, len(w) + 1) if freq.get(w[:i])) <= _C_MAX_ENDS
                   for w in freq if len(w) > _C_MAX_ENDS)
        _c_checked = (state, fits)
    return _c_checked[1]


def cut(text: str) -> list[str]:
    """jieba's accurate-mode words of ``text`` (HMM on); they join back to ``text``."""
    dt = jieba.dt
    dt.check_initialized()
    if _c_dag_route is None or not _kernel_fits(dt):
        return list(dt.cut(text, HMM=True))
    return _cut_with_kernel(dt, text)


def _cut_with_kernel(dt, text: str) -> list[str]:
    """``jieba.Tokenizer.cut(text, HMM=True)`` of jieba 0.42, with jieba_fast's kernel for the word graph."""
    freq = dt.FREQ
    total = float(dt.total)
    words: list[str] = []
    add = words.append

    def unknown_run(buf: str) -> None:  # single characters in a row: the HMM finds words among them
        if len(buf) == 1:
            add(buf)
        elif not freq.get(buf):
            words.extend(finalseg.cut(buf))
        else:
            words.extend(buf)

    for n, blk in enumerate(jieba.re_han_default.split(text)):
        if not blk:
            continue
        if n % 2 == 0:  # no Han/alphanumeric character in it: whitespace runs whole, anything else by character
            for m, part in enumerate(jieba.re_skip_default.split(blk)):
                if m % 2:
                    add(part)
                else:
                    words.extend(part)
            continue
        size = len(blk)
        if size > _C_MAX_BLOCK or _REPEATS.search(blk):
            words.extend(dt.cut(blk, HMM=True))  # one block: jieba cuts it the same way
            continue
        route: list[int] = []
        _c_dag_route(freq, blk, route, total)  # route[x]: where the best word starting at x ends
        x = 0
        buf = ""
        while x < size:
            y = route[x] + 1
            if y - x == 1:
                buf += blk[x]
            else:
                if buf:
                    unknown_run(buf)
                    buf = ""
                add(blk[x:y])
            x = y
        if buf:
            unknown_run(buf)
    return words


class Analyzer:
    """Tokenises text for the index and for queries; holds the synonym table."""

    def __init__(self, synonyms: list[list[str]] | None = None, stopwords=STOPWORDS):
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
        add = out.append
        canonical = self.synonyms.get  # as self.canonical, without a call per word
        stopwords = self.stopwords
        has_word_char = WORD_CHAR.search
        stack = mode == "index"
        pos = 0
        offset = 0
        for word in cut(norm):
            start = offset
            offset += len(word)
            if not has_word_char(word):
                continue  # punctuation and spaces take no position
            if word in stopwords:
                continue
            add(Token(canonical(word, word), pos, origin[start], origin[offset - 1] + 1))
            if stack and len(word) > 2:
                for sub, s, e in _subwords(word):
                    add(Token(canonical(sub, sub), pos, origin[start + s], origin[start + e - 1] + 1))
            pos += 1
        return out

    def terms(self, text: str, mode: str = "query") -> list[str]:
        return [t.text for t in self.tokens(text, mode)]


def _subwords(word: str) -> tuple[tuple[str, int, int], ...]:
    """Dictionary words inside a longer word, with where they sit in it. jieba's search mode stops at length 3;
    we go up to the word's length - 1 (capped at 6), so 困难职工 is still found inside 春节困难职工."""
    dt = jieba.dt
    return _subwords_in(word, (id(dt.FREQ), len(dt.FREQ), dt.total))


@lru_cache(maxsize=65536)
def _subwords_in(word: str, dictionary_state) -> tuple[tuple[str, int, int], ...]:
    """:func:`_subwords`, remembered per word (and dictionary state: adding words changes size and total)."""
    freq = jieba.dt.FREQ
    seen = {word}
    out = []
    for n in range(2, min(len(word), 7)):
        for i in range(len(word) - n + 1):
            gram = word[i:i + n]
            if gram not in seen and freq.get(gram):
                seen.add(gram)
                out.append((gram, i, i + n))
    return tuple(out)


def maximal_subwords(word: str) -> list[str]:
    """The dictionary sub-words of ``word`` (two characters or more) that no longer sub-word contains, in
    order: 保洁员 → [保洁], 新就业形态劳动者 → [新就业, 形态, 劳动者]. [] for a word of two characters."""
    if len(word) <= 2:
        return []
    subs = _subwords(word)
    return [w for w, s, e in sorted(subs, key=lambda x: x[1])
            if not any(o != w and os <= s and e <= oe for o, os, oe in subs)]


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
            here, there = best[i], best[j]
            if here is not None and (j - i < n) and freq.get(piece) and (there is None or len(there) > len(here) + 1):
                best[j] = here + [piece]
    return best[n] or []


BUNDLED_USER_DICT = Path(__file__).parent / "data" / "userdict.txt"


def make_analyzer(config: Config) -> Analyzer:
    """Initialise jieba (cache in our own folder, user dictionaries) and build the configured analyser."""
    dicts: list[str | Path] = [BUNDLED_USER_DICT]
    if config.analysis.user_dict:
        dicts.append(config.path(config.analysis.user_dict))
    words = [w for group in config.analysis.synonyms for w in group]
    init_jieba(config.cache_path / "jieba", dicts, words)
    return Analyzer(config.analysis.synonyms)
