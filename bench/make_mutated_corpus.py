"""A realistic benchmark corpus: the repository's own scraped/ pages, copied with mutations so that no copy is a
near-duplicate of another or of its source.

    python bench/make_mutated_corpus.py N OUT [--seed S] [--check]

Every copy keeps its source's format, encoding and markup (UTF-8 and GBK HTML, plain-text dumps): only the text
the cleaner keeps is changed, so the site furniture around it is the real furniture and the cleaner has its real
work. The changes, all drawn from a generator seeded by (seed, page number), so the same N and seed give
byte-identical files and a 1k corpus is the first 1k pages of a 10k one:

* words replaced by words of the same part of speech and length from the sources' vocabulary (as often as they
  occur there), now and then a character replaced, inserted, swapped or dropped instead (drawn from the page's
  own characters), at evenly spread positions (about one every ``1 / RATE`` characters; never a heading's or a
  document's numbering);
* sentences shuffled inside a paragraph, paragraphs shuffled inside a section, a section's paragraphs now and
  then spliced in from other pages;
* the organisation in the title (and wherever the page names it), years, dates, other numbers and the URL
  varied; now and then one to three documents assembled from other pages' sections (headings renumbered
  一、二、…) appended, as 范文 sites do (扩展阅读, 【第二篇】, …篇二).

``--check`` indexes the corpus with `unionsearch index` (default settings) and compares every two sections by
the engine's own near-copy measure (indexer/sketch.py, the thresholds of indexer/search.py's collapse), copies
against each other and against the scraped/ sources; it fails when a pair is a near-copy on FEW_GRAMS grams or
more (pairs a short section's one or two sampled grams decide are counted apart: they fold by chance).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from make_corpus import KINDS, NUMERALS, ORGS, PLACES  # noqa: E402

SOURCES = ROOT / "scraped"
RATE = 0.16  # changes per character of kept text: two copies then share about a quarter of their 4-grams
RATE_SHORT, SHORT = 0.22, 100
JITTER = 0.5  # of each stretch, the share a change may fall in
WORD_SHARE = 0.9  # of the changes, how many replace a whole word (the rest change one character, as typos do)
PROTECTED = set("一二三四五六七八九十百零〇两第篇章节")  # numbering: the cleaner's headings and documents hang on it
HAN = re.compile(r"[\u3400-\u9fff]")
MARKUP = re.compile(r"(<!--.*?-->|<script\b.*?</script\s*>|<style\b.*?</style\s*>|<[^>]*>)", re.S | re.I)
ENTITY = re.compile(r"(&#?\w+;)")
SENTENCE = re.compile(r"[^。！？；]*[。！？；]")
# A date, or a number that is not a heading's numbering (1、 （2）) nor part of a longer one (12.6, an ICP number).
NUMBERS = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<s1>[-/.年])(?P<m>\d{1,2})(?P<s2>[-/.月])(?P<d>\d{1,2})(?!\d)"
                     r"|(?<![\d.（(])(?P<n>\d{1,6})(?![\d、．.）)])")
YEAR = re.compile(r"(?<!\d)(?:19[89]|20[0-2])\d(?!\d)")
LEAD_MARKER = re.compile(r"\s*(?:[（(][一二三四五六七八九十\d]{1,3}[）)]|[一二三四五六七八九十]{1,3}[、.．是]|"
                         r"\d{1,2}[、.．](?!\d))?\s*")
SAVED_FROM = re.compile(r"saved from url=\((\d{4})\)(\S+?)(?= ?-->)")
EXTRA_TITLE = ["扩展阅读：{t}", "【第{n}篇】{t}", "{t}篇{n}"]
STAMP = ".mutated.json"  # what make_corpus wrote (hidden: iter_pages skips it)
BLOCK_END = re.compile(r"</(?:p|div|h\d|li|td|section|article)\s*>|<br\s*/?>", re.I)


@dataclass
class SourcePage:
    """One scraped page, split into parts (even: text, odd: markup; a text dump's parts are its lines and
    line breaks) with what the cleaner keeps of it cut into words."""

    name: str
    kind: str  # "html" or "text"
    codec: str
    parts: list[str]
    words: dict[int, list[tuple[str, str]]]  # text part → (word, part of speech) of the kept text
    headings: set[int]  # text parts that are a section heading
    title: str
    url: str | None
    chars: list[str]  # the page's Han characters, repeated as often as they occur (draws follow the distribution)


@dataclass
class Material:
    pages: list[SourcePage]
    vocab: dict[tuple[str, int], list[str]]  # (part of speech, length) → words, repeated as often as they occur
    paragraphs: list[list[tuple[str, str]]]  # every kept paragraph of every source, cut
    # (heading without its numbering, paragraphs), cut, of every section with a heading
    sections: list[tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]] = field(default_factory=list)


def _split(text: str, kind: str) -> list[str]:
    return MARKUP.split(text) if kind == "html" else re.split(r"(\r?\n)", text)


def _kept_text(cleaned) -> tuple[set[str], set[str], set[str], set[str]]:
    """(kept lines, their 6-character windows, headings, titles) of a cleaned page, whitespace removed."""
    from indexer.clean.text import WS

    lines, heads, titles = set(), set(), {WS.sub("", cleaned.title)}
    for doc in cleaned.documents:
        titles.add(WS.sub("", doc.title))
        for sec in doc.sections:
            heads.add(WS.sub("", sec.heading))
            lines.add(WS.sub("", sec.heading))
            lines.update(WS.sub("", t) for t in sec.text.split("\n"))
    windows = {line[i:i + 6] for line in lines for i in range(max(1, len(line) - 5))}
    return lines - {""}, windows, heads - {""}, titles


def _is_kept(part: str, kind: str, lines: set[str], windows: set[str]) -> bool:
    """Whether a text part is (mostly) text the cleaner keeps: only that is changed, the furniture stays."""
    from indexer.clean.text import WS

    s = WS.sub("", html.unescape(part) if kind == "html" else part)
    if len(HAN.findall(s)) < 4:
        return False
    if s in lines:
        return True
    if len(s) < 12:
        return False
    grams = [s[i:i + 6] for i in range(len(s) - 5)]
    return sum(g in windows for g in grams) >= 0.5 * len(grams)


def _load_source(path: Path, config) -> tuple[SourcePage, object]:
    from indexer.clean import clean_page
    from indexer.clean.text import WS
    from indexer.load import load_page

    page = load_page(path, path.parent)
    cleaned = clean_page(page, config.clean)
    lines, windows, heads, titles = _kept_text(cleaned)
    parts = _split(page.text, page.kind)
    # Titles are not kept text here: they change by organisation and year (rename), not word by word.
    kept = [i for i in range(0, len(parts), 2) if _is_kept(parts[i], page.kind, lines, windows)
            and WS.sub("", html.unescape(parts[i])) not in titles]
    words = {i: _cut(html.unescape(parts[i]) if page.kind == "html" else parts[i]) for i in kept}
    headings = {i for i in kept if WS.sub("", html.unescape(parts[i])) in heads}
    chars = [c for i in kept for c in HAN.findall(parts[i])]
    codec = "gb18030" if page.encoding.lower().replace("-", "") in ("gbk", "gb2312", "gb18030") else "utf-8"
    return SourcePage(path.name, page.kind, codec, parts, words, headings, cleaned.title, page.url, chars), cleaned


def _cut(text: str) -> list[tuple[str, str]]:
    import jieba.posseg

    return [(w, flag) for w, flag in jieba.posseg.lcut(text)]


@lru_cache(maxsize=4)
def load_material(sources: Path = SOURCES) -> Material:
    """The sources read, cleaned (with the default settings) and cut once; every copy is made from this."""
    from indexer.analysis import make_analyzer
    from indexer.config import load_config

    config = load_config(ROOT / "config.yaml")
    make_analyzer(config)  # jieba with the engine's dictionaries
    pages, vocab, paragraphs, sections = [], {}, [], []
    for path in sorted(p for p in sources.iterdir() if p.suffix in (".html", ".htm", ".txt")):
        page, cleaned = _load_source(path, config)
        pages.append(page)
        for tokens in page.words.values():
            for w, flag in tokens:
                if HAN.fullmatch(w[0]) and not PROTECTED & set(w):
                    vocab.setdefault((flag, len(w)), []).append(w)
        for doc in cleaned.documents:
            for sec in doc.sections:
                paras = [_cut(t) for t in sec.text.split("\n") if len(t) >= 30]
                paragraphs += paras
                if sec.heading and paras:
                    sections.append((_cut(_strip_marker(sec.heading)), paras))
    return Material(pages, vocab, paragraphs, sections)


def _strip_marker(heading: str) -> str:
    return re.sub(r"^\s*(?:[（(]?[一二三四五六七八九十\d]+[）)、.．]|第[一二三四五六七八九十]+[章节，、])\s*", "",
                  heading)


# ---- changing text --------------------------------------------------------------------------------------------

def mutate_words(tokens: list[tuple[str, str]], rng: random.Random, material: Material, chars: list[str]) -> str:
    """The text of ``tokens`` with about RATE of its Han characters changed, at stratified positions (one in
    every stretch of 1/RATE characters, so no long run is left as it was), then its sentences shuffled."""
    spots = [(t, k) for t, (w, _f) in enumerate(tokens) for k, c in enumerate(w)
             if HAN.fullmatch(c) and c not in PROTECTED]
    if len(spots) < 4:
        return "".join(w for w, _ in tokens)
    # A short paragraph has few sampled grams, so its copies share most of them now and then by luck: it gets
    # more changes (RATE_SHORT below SHORT characters).
    n = max(2, round(len(spots) * (RATE_SHORT if len(spots) < SHORT else RATE)))
    # Near-even spacing: a random place in the middle half of each stretch (a wholly random one leaves long
    # unchanged runs now and then, and a short section's copies would then share most of their grams).
    chosen = [spots[int((j + 0.25 + JITTER * rng.random()) * len(spots) / n)] for j in range(n)]
    words = [w for w, _ in tokens]
    done: set[int] = set()
    for t, k in chosen:
        if t in done:
            continue
        done.add(t)
        w, flag = tokens[t]
        pool = material.vocab.get((flag, len(w))) if not PROTECTED & set(w) else None
        if pool and rng.random() < WORD_SHARE:
            words[t] = _other(pool, w, rng)
        else:
            words[t] = _char_change(w, k, rng, chars)
    return shuffle_sentences("".join(words), rng)


def _other(pool: list[str], word: str, rng: random.Random) -> str:
    for _ in range(4):
        w = rng.choice(pool)
        if w != word:
            return w
    return word


def _char_change(word: str, k: int, rng: random.Random, chars: list[str]) -> str:
    """One character of ``word`` replaced, doubled by an inserted one, swapped with its neighbour, or dropped."""
    c = rng.choice(chars)
    op = rng.random()
    if op < 0.45:
        return word[:k] + c + word[k + 1:]
    if op < 0.7:
        return word[:k + 1] + c + word[k + 1:]
    if op < 0.9 and k + 1 < len(word) and HAN.fullmatch(word[k + 1]) and word[k + 1] not in PROTECTED:
        return word[:k] + word[k + 1] + word[k] + word[k + 2:]
    return word[:k] + word[k + 1:] if len(word) > 1 else c


def shuffle_sentences(text: str, rng: random.Random) -> str:
    """Sentences of a paragraph in another order (the last, unfinished piece stays last); a paragraph with a
    heading's numbering inside (a text dump's run-together line) keeps its order."""
    from indexer.clean.split import INLINE_BREAK

    sentences = SENTENCE.findall(text)
    rest = text[sum(len(s) for s in sentences):]
    if len(sentences) < 3 or INLINE_BREAK.search(text) or rng.random() < 0.3:
        return text
    lead = len(text) - len(text.lstrip())
    sentences[0] = sentences[0][lead:]
    rng.shuffle(sentences)
    return text[:lead] + "".join(sentences) + rest


def vary_numbers(text: str, rng: random.Random, shift: int, redraw: bool) -> str:
    """Years moved by ``shift`` (at most 2025) and dates given another month and day; with ``redraw`` half the
    other numbers redrawn with as many digits."""
    def one(m: re.Match) -> str:
        if m.group("y"):
            y = min(2025, int(m.group("y")) + shift)
            return (f"{y}{m.group('s1')}{rng.randint(1, 12):0{len(m.group('m'))}d}{m.group('s2')}"
                    f"{rng.randint(1, 28):0{len(m.group('d'))}d}")
        d = m.group("n")
        if YEAR.fullmatch(d):
            return str(min(2025, int(d) + shift))
        if not redraw or rng.random() < 0.5:
            return d
        return str(rng.randint(10 ** (len(d) - 1) if len(d) > 1 else 1, 10 ** len(d) - 1))

    return NUMBERS.sub(one, text)


# ---- a page ---------------------------------------------------------------------------------------------------

def source_of(i: int, material: Material, seed: int) -> SourcePage:
    """Page ``i``'s source: every run of len(sources) pages holds each source once, in a shuffled order."""
    n = len(material.pages)
    order = list(range(n))
    random.Random(f"{seed}:order:{i // n}").shuffle(order)
    return material.pages[order[i % n]]


def arrange(src: SourcePage, rng: random.Random, material: Material) -> dict[int, list[tuple[str, str]]]:
    """The words of each kept text part after paragraphs were shuffled inside their section (half the
    sections) or replaced by other pages' paragraphs (one section in five). Numbering at a paragraph's start
    ((一) 1、 一是) stays where it was, so the section still counts up."""
    from indexer.clean.split import INLINE_BREAK

    words = dict(src.words)
    groups: list[list[int]] = [[]]
    for i in sorted(words):
        if i in src.headings:
            groups.append([])
            continue
        text = src.parts[i].strip()
        if len(HAN.findall(text)) >= 30 and text[-1:] in "。！？；" and not INLINE_BREAK.search(text):
            groups[-1].append(i)
    for group in groups:
        if group and rng.random() < 0.2:
            bodies = [split_marker(rng.choice(material.paragraphs))[1] for _ in group]
        elif len(group) >= 2 and rng.random() < 0.5:
            bodies = [split_marker(words[i])[1] for i in group]
            rng.shuffle(bodies)
        else:
            continue
        for i, body in zip(group, bodies, strict=True):
            words[i] = split_marker(words[i])[0] + body
    return words


def split_marker(tokens: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(the tokens of a paragraph's leading numbering and spaces, the rest)."""
    m = LEAD_MARKER.match("".join(w for w, _ in tokens))
    length = 0
    for k, (w, _f) in enumerate(tokens):
        if m is None or length >= m.end():
            return tokens[:k], tokens[k:]
        length += len(w)
    return tokens, []


def extra_documents(rng: random.Random, material: Material, chars: list[str]) -> list[tuple[str, str]]:
    """One to three documents made of other pages' sections, as (kind, line) with kind title/heading/text;
    their headings are numbered afresh."""
    lines: list[tuple[str, str]] = []
    for k in range(rng.choice((1, 1, 2, 3))):
        org = rng.choice(PLACES) + rng.choice(ORGS)
        title = f"{org}工会{rng.randint(2012, 2025)}年{rng.choice(KINDS).removeprefix('工会')}"
        lines.append(("title", rng.choice(EXTRA_TITLE).format(t=title, n=NUMERALS[k + 1])))
        lines.append(("text", mutate_words(split_marker(rng.choice(material.paragraphs))[1], rng, material, chars)))
        for s in range(rng.randint(2, 6)):
            heading, paras = rng.choice(material.sections)
            lines.append(("heading", f"{NUMERALS[s]}、{mutate_words(heading, rng, material, chars)}"))
            lines += [("text", mutate_words(p, rng, material, chars)) for p in paras[:3]]
    return lines


def _insert_documents(parts: list[str], src: SourcePage, lines: list[tuple[str, str]]) -> None:
    """Put the extra documents after the block holding the page's last kept text."""
    last = max(src.words)
    if src.kind == "text":
        newline = parts[last + 1] if last + 1 < len(parts) else "\n"
        parts[last] += newline + newline.join(line for _, line in lines)
        return
    e = html.escape
    block = "".join(f"\n<p><strong>{e(line)}</strong></p>" if kind != "text" else f"\n<p>{e(line)}</p>"
                    for kind, line in lines)
    for j in range(last + 1, len(parts), 2):
        m = BLOCK_END.search(parts[j])
        if m:
            parts[j] = parts[j][:m.end()] + block + parts[j][m.end():]
            return
    parts[-1] += block


def rename(text: str, src: SourcePage, i: int, rng: random.Random, shift: int) -> str:
    """Another organisation in the title (and wherever the page names it), another URL."""
    org = src.title.split("工会", 1)[0] if "工会" in src.title else ""
    new_org = rng.choice(PLACES) + rng.choice(ORGS)
    if 2 <= len(org) <= 12 and all(HAN.fullmatch(c) for c in org):
        text = text.replace(org, new_org)
    elif src.title:  # no organisation to swap: put one before the title (its years already moved)
        title = YEAR.sub(lambda m: str(min(2025, int(m.group()) + shift)), src.title)
        text = text.replace(title, new_org + title)
    if src.url:
        url = re.sub(r"\d+(?=\D*$)", str(100000 + i), src.url, count=1)
        url = url if url != src.url else f"{src.url}?p={i}"
        text = SAVED_FROM.sub(lambda m: f"saved from url=({len(url):04d}){url}" if m.group(2) == src.url
                              else m.group(), text.replace(src.url, url))
    return text


def make_page(i: int, material: Material, seed: int = 7) -> tuple[str, bytes]:
    """(relative path, bytes) of page ``i``."""
    rng = random.Random(f"{seed}:{i}")
    src = source_of(i, material, seed)
    shift = rng.randint(-6, 2)
    parts = list(src.parts)
    words = arrange(src, rng, material)
    for j in range(0, len(parts), 2):
        if j in words:
            text = vary_numbers(mutate_words(words[j], rng, material, src.chars), rng, shift, True)
            parts[j] = html.escape(text, quote=False) if src.kind == "html" else text
        else:
            parts[j] = vary_numbers(parts[j], rng, shift, False)
    if words and rng.random() < 0.4:
        extra = [(kind, vary_numbers(line, rng, shift, True))
                 for kind, line in extra_documents(rng, material, src.chars)]
        _insert_documents(parts, src, extra)
    text = rename("".join(parts), src, i, rng, shift)
    suffix = ".html" if src.kind == "html" else ".txt"
    return f"{i // 1000:03d}/{i:06d}{suffix}", text.encode(src.codec, errors="replace")


def make_corpus(n: int, out: Path, seed: int = 7) -> list[Path]:
    """Write ``n`` pages under ``out`` (emptied first); return their paths."""
    material = load_material()
    if out.exists():
        shutil.rmtree(out)
    written = []
    for i in range(n):
        rel, data = make_page(i, material, seed)
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    (out / STAMP).write_text(json.dumps(corpus_stamp(n, seed)), encoding="utf-8")
    return written


def corpus_stamp(n: int, seed: int) -> dict:
    """What a corpus was made from: a changed generator or source page makes another corpus."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for p in sorted(SOURCES.iterdir()):
        digest.update(p.name.encode() + p.read_bytes())
    return {"pages": n, "seed": seed, "made_from": digest.hexdigest()[:16]}


def corpus_ready(out: Path, n: int, seed: int = 7) -> bool:
    """Whether ``out`` holds what make_corpus(n, out, seed) would write now."""
    try:
        return json.loads((out / STAMP).read_text(encoding="utf-8")) == corpus_stamp(n, seed)
    except (OSError, ValueError):
        return False


# ---- the check ------------------------------------------------------------------------------------------------

NEAR_JACCARD, CONTAINED = 0.6, 0.85  # indexer/search.py's collapse: a near-copy, or a copy inside a longer one
# A pair whose smaller side has fewer compared grams than this is decided by one to four 16-bit values: a short
# section's single 0-mod-4 gram found among a long one's hundreds folds it by chance (the engine does so too).
FEW_GRAMS = 5


def _grams_matrix(arrays: list):
    """Sections × 16-bit gram values, 1 where the section has the gram."""
    import numpy as np
    from scipy import sparse

    indptr = np.concatenate([[0], np.cumsum([len(a) for a in arrays])])
    indices = np.concatenate(arrays).astype(np.int32) if arrays else np.zeros(0, np.int32)
    return sparse.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(len(arrays), 1 << 16))


def near_copies(records: list[tuple[str, bool, str]], chunk: int = 512) -> dict:
    """Every two sections compared as indexer/search.py's collapse compares two hits (their stored sketches,
    indexer/sketch.py: all 4-grams of short sections, the 0-mod-4 sample of long ones; a Jaccard of 0.6 or a
    containment of 0.85 folds one into the other). ``records`` are (page, is a source, section text); pairs
    of two sources are not counted. Returns, by kind of pair, the pairs, the near-copies (and how many of them
    rest on fewer than FEW_GRAMS grams), and the largest similarities and the closest pair on enough grams."""
    import numpy as np

    from indexer.sketch import Sketch

    sketches = [Sketch.of(t) for _, _, t in records]
    keep = [i for i, sk in enumerate(sketches) if len(sk.zeros_array)]  # no 0-mod-4 gram: collapse never folds it
    pages = np.unique([records[i][0] for i in keep], return_inverse=True)[1]
    source = np.array([records[i][1] for i in keep], dtype=bool)
    sampled = np.array([sketches[i].sampled for i in keep], dtype=bool)
    full = _grams_matrix([sketches[i].array for i in keep])
    zeros = _grams_matrix([sketches[i].zeros_array for i in keep])
    n_full, n_zero = np.diff(full.indptr), np.diff(zeros.indptr)
    kinds = {"copy_copy": {}, "same_page": {}, "copy_source": {}}
    for v in kinds.values():
        v.update(pairs=0, near=0, near_on_few_grams=0, max_jaccard=0.0, max_containment=0.0)
    nearest = []  # per copy section: the largest Jaccard with a section of another page (sources included)
    for start in range(0, len(keep), chunk):
        rows = np.arange(start, min(start + chunk, len(keep)))
        both_full = ~sampled[rows][:, None] & ~sampled[None, :]
        inter = np.where(both_full, (full[rows] @ full.T).toarray(), (zeros[rows] @ zeros.T).toarray())
        a = np.where(both_full, n_full[rows][:, None], n_zero[rows][:, None])
        b = np.where(both_full, n_full[None, :], n_zero[None, :])
        jac, con = inter / (a + b - inter), inter / np.minimum(a, b)
        other = pages[rows][:, None] != pages[None, :]
        upper = rows[:, None] < np.arange(len(keep))[None, :]
        src_r, src_c = source[rows][:, None], source[None, :]
        masks = {"copy_copy": upper & other & ~src_r & ~src_c, "same_page": upper & ~other & ~src_r,
                 "copy_source": other & (src_r ^ src_c) & ~src_r}  # each copy-source pair once, from the copy
        smaller = np.minimum(a, b)
        for kind, mask in masks.items():
            _tally(kinds[kind], mask, jac, con, smaller)
            mask = mask & (smaller >= FEW_GRAMS)
            if mask.any():  # the closest pair of the kind so far (on enough grams), by its nearer threshold
                score = np.where(mask, np.maximum(jac / NEAR_JACCARD, con / CONTAINED), -1)
                r, c = np.unravel_index(int(score.argmax()), score.shape)
                if score[r, c] > kinds[kind].get("closest_score", -1):
                    kinds[kind].update(closest_score=round(float(score[r, c]), 3),
                                       closest=[records[keep[rows[r]]][:3:2], records[keep[c]][:3:2]])
        mine = ~source[rows]
        nearest += np.where(other & ~(src_r & src_c), jac, 0).max(axis=1)[mine].tolist()
    return {"sections": len(records), "compared": len(keep), "copy_sections": int((~source).sum()),
            **kinds, "nearest_jaccard": _quantiles(nearest)}


def _tally(out: dict, mask, jac, con, smaller) -> None:
    out["pairs"] += int(mask.sum())
    if mask.any():
        near = mask & ((jac >= NEAR_JACCARD) | (con >= CONTAINED))
        out["near"] += int(near.sum())
        out["near_on_few_grams"] += int((near & (smaller < FEW_GRAMS)).sum())
    mask = mask & (smaller >= FEW_GRAMS)  # the largest similarities where they can show copying
    if mask.any():
        out["max_jaccard"] = max(out["max_jaccard"], round(float(jac[mask].max()), 3))
        out["max_containment"] = max(out["max_containment"], round(float(con[mask].max()), 3))


def _quantiles(values: list[float]) -> dict:
    import numpy as np

    if not values:
        return {}
    v = np.array(values)
    return {f"p{q}": round(float(np.percentile(v, q)), 3) for q in (50, 90, 99)} | {"max": round(float(v.max()), 3)}


def source_records(sources: Path = SOURCES) -> list[tuple[str, bool, str]]:
    """(page, True, section text) of every section of the scraped/ pages, as the indexer makes them."""
    from indexer.config import load_config
    from indexer.records import process_file

    config = load_config(ROOT / "config.yaml")
    return [(f"source:{r.source}", True, r.text)
            for p in sorted(sources.iterdir()) for r in process_file(str(p), str(sources), config).records]


def folder_records(folder: Path, with_heading: bool = False) -> list[tuple[str, bool, str]]:
    """(page, False, section text) of every page under ``folder``, cleaned in this process (no index); the
    heading on the text's first line ``with_heading``."""
    from indexer.config import load_config
    from indexer.load import iter_pages
    from indexer.records import process_file

    config = load_config(ROOT / "config.yaml")
    return [(r.source, False, f"{r.heading}\n{r.text}" if with_heading else r.text) for p in iter_pages(folder)
            for r in process_file(str(p), str(folder), config).records]


def index_records(config_file: Path) -> list[tuple[str, bool, str]]:
    """(page, False, section text) of every section stored in the index ``config_file`` names."""
    from indexer.backends import open_store
    from indexer.backends.whoosh.schema import load_record
    from indexer.config import load_config

    store = open_store(load_config(config_file))
    with store.searcher() as s:
        return [(r.source, False, r.text) for r in (load_record(s, d) for d in s.reader().all_doc_ids())]


def check(corpus: Path, work: Path) -> dict:
    """Index ``corpus`` with `unionsearch index` (default settings, paths changed) and compare its sections."""
    from index_speed import _cli
    from realistic import write_config

    config_file = write_config(corpus, work)
    seconds, proc, _ = _cli("index", "--full", "--quiet", "--config", str(config_file))
    summary = proc.stdout.splitlines()[0]
    m = re.search(r"indexed (\d+) of (\d+) pages: (\d+) documents \((\d+) near-duplicates\), (\d+) sections", summary)
    index = dict(zip(("indexed", "pages", "documents", "near_duplicate_documents", "sections"),
                     map(int, m.groups()), strict=True)) if m else {}
    out = {"corpus": str(corpus), "index_summary": summary, "index": index, "index_seconds": round(seconds, 1)}
    out["sketches"] = near_copies(index_records(config_file) + source_records())
    return out


def report_check(out: dict) -> bool:
    """Print the check; True when no copy is a near-copy of another page's section or of a source."""
    idx, sk = out["index"], out["sketches"]
    print(f"index: {idx.get('pages')} pages, {idx.get('documents')} documents "
          f"({idx.get('near_duplicate_documents')} near-duplicate documents on a page), {idx.get('sections')} "
          f"sections", file=sys.stderr)
    print(f"sections compared by the engine's sketch: {sk['compared']} of {sk['sections']} "
          f"(copies and sources); nearest other page's section, Jaccard: {sk['nearest_jaccard']}", file=sys.stderr)
    for kind in ("copy_copy", "copy_source", "same_page"):
        k = sk[kind]
        print(f"  {kind}: {k['pairs']} pairs, {k['near']} near-copies ({k['near_on_few_grams']} of them on fewer "
              f"than {FEW_GRAMS} grams), max Jaccard {k['max_jaccard']}, max containment {k['max_containment']}",
              file=sys.stderr)
    return all(sk[kind]["near"] == sk[kind]["near_on_few_grams"] for kind in ("copy_copy", "copy_source"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of pages")
    ap.add_argument("out", type=Path, help="output folder (replaced)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--check", action="store_true", help="index the pages and count near-copies (see above)")
    ap.add_argument("--check-only", action="store_true", help="check OUT as it is (any corpus), make nothing")
    ap.add_argument("--json", type=Path, help="write the check's figures here")
    args = ap.parse_args(argv)
    if not args.check_only:
        paths = make_corpus(args.n, args.out, args.seed)
        size = sum(p.stat().st_size for p in paths)
        print(f"wrote {len(paths)} pages ({size / 1e6:.1f} MB) to {args.out}", file=sys.stderr)
    if not (args.check or args.check_only):
        return 0
    with tempfile.TemporaryDirectory(prefix="mutated-check-", dir=ROOT / "var") as work:
        out = check(args.out.resolve(), Path(work))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if report_check(out) else 1


if __name__ == "__main__":
    sys.exit(main())
