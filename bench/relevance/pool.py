#!/usr/bin/env python3
"""Pooling for the judged relevance set (bench/relevance/queries.json), and the plain BM25 baseline.

    python bench/relevance/pool.py pool QUERIES.src.json OUT_DIR [--source scraped] [--index DIR]
        one file per query in OUT_DIR: the query, its intent and every pooled section (shuffled, no engine
        named), for graders; plus OUT_DIR/sections.json (every section of the corpus by id)
    python bench/relevance/pool.py pool-more QUERIES.src.json GRADES.json RANKING.json OUT_DIR [--controls 4]
        the same files for what another ranking (RANKING.json: query id → section ids) puts in its top 20 and
        no grade covers yet, with a few graded sections mixed in as controls (OUT_DIR/controls.json)
    python bench/relevance/pool.py merge GRADES.json OUT_DIR GRADED.json ... [--label TEXT]
        add the graders' answers on a pool-more round to GRADES.json (controls are only compared)
    python bench/relevance/pool.py assemble QUERIES.src.json GRADES.json OUT.json [--source scraped]
        the judged file ../shared/tools/eval_search.py reads: each graded section becomes a judgment whose
        `keys` are passages from the start, middle and end of the section, unique within its page
    python bench/relevance/pool.py bm25 QUERY [--source scraped] [--json] [--limit N]
        plain BM25 (k1 1.2, b 0.75) over the cleaned sections, jieba's search-mode cut, any word: the baseline

The pool of a query is the union of: our top 20, plain BM25's top 20, every section holding the query's
words literally (normalised, spaces and punctuation ignored), and every section holding a part of the query
(jieba's search-mode words of two characters or more; at most PART_CAP of them, those holding the most parts
first). A query's `pool_extra` words (the intended words of a typo query) are pooled the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import jieba

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from indexer.analysis import normalise  # noqa: E402
from indexer.config import load_config  # noqa: E402
from indexer.load import iter_pages  # noqa: E402
from indexer.records import process_file  # noqa: E402

jieba.setLogLevel(logging.WARNING)
TOP = 20
PART_CAP = 60
KEY_CHARS = 14
_PUNCT = re.compile(r"[^0-9a-z\u3400-\u9fff]")


def squash(text: str) -> str:
    """Normalised (NFKC, t2s, lower case) text with everything but letters, digits and Han removed."""
    return _PUNCT.sub("", normalise(text))


def corpus(source: str) -> list[dict]:
    config = load_config(None)
    out = []
    for path in iter_pages(source):
        result = process_file(str(path), source, config)
        for r in result.records:
            out.append({"id": r.id, "source": r.source, "document": r.document, "heading": r.heading,
                        "text": r.text, "duplicate_of": r.duplicate_of})
    return out


class BM25:
    def __init__(self, sections: list[dict], k1: float = 1.2, b: float = 0.75):
        self.sections, self.k1, self.b = sections, k1, b
        self.tf = [Counter(w for w in jieba.cut_for_search(s["heading"] + "\n" + s["text"]) if w.strip())
                   for s in sections]
        self.len = [sum(c.values()) for c in self.tf]
        self.avg = sum(self.len) / max(1, len(self.len))
        self.df = Counter(w for c in self.tf for w in c)

    def search(self, q: str, limit: int) -> list[tuple[float, dict]]:
        words = [w for w in jieba.cut_for_search(q) if w.strip()]
        n = len(self.sections)
        scored = []
        for i, c in enumerate(self.tf):
            s = 0.0
            for w in words:
                f = c.get(w)
                if f:
                    idf = math.log(1 + (n - self.df[w] + 0.5) / (self.df[w] + 0.5))
                    s += idf * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * self.len[i] / self.avg))
            if s > 0:
                scored.append((s, self.sections[i]))
        scored.sort(key=lambda x: -x[0])
        return scored[:limit]


def parts(word: str) -> list[str]:
    return sorted({p for p in jieba.cut_for_search(normalise(word)) if len(p) >= 2 and _PUNCT.sub("", p)})


def pool(query: dict, sections: list[dict], bm25: BM25, store) -> list[dict]:
    from indexer.search import SearchOptions, search

    chosen: dict[str, dict] = {}
    ours = search(store, query["q"], SearchOptions(per_page=TOP, snippets=False))
    by_id = {s["id"]: s for s in sections}
    for h in ours.hits:
        chosen[h.record.id] = by_id[h.record.id]
    for _, s in bm25.search(query["q"], TOP):
        chosen[s["id"]] = s
    words = [squash(w) for w in query["q"].replace('"', " ").split() if squash(w)]
    extra = query.get("pool_extra", [])
    bodies = {s["id"]: squash(s["heading"] + s["text"]) for s in sections}
    for group in [words, *[[squash(w)] for w in extra]]:
        if group:
            for s in sections:
                if all(w in bodies[s["id"]] for w in group):
                    chosen[s["id"]] = s
    all_parts = sorted({p for w in words + [squash(w) for w in extra] for p in parts(w)})
    holding = []
    for s in sections:
        n = sum(1 for p in all_parts if p in bodies[s["id"]])
        if n:
            holding.append((n, s))
    holding.sort(key=lambda x: -x[0])
    for _, s in holding[:PART_CAP]:
        chosen[s["id"]] = s
    # Shuffled by a hash of the id: graders see no engine's order.
    return sorted(chosen.values(), key=lambda s: hashlib.sha1((query["id"] + s["id"]).encode()).hexdigest())


def cmd_pool(a) -> None:
    from indexer.analysis import make_analyzer
    from indexer.backends.whoosh import WhooshStore

    sections = corpus(a.source)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sections.json").write_text(json.dumps(sections, ensure_ascii=False, indent=0), encoding="utf-8")
    store = WhooshStore(a.index, make_analyzer(load_config("config.yaml")))
    bm25 = BM25(sections)
    sizes = []
    for q in json.loads(Path(a.queries).read_text(encoding="utf-8")):
        pooled = pool(q, sections, bm25, store)
        sizes.append(len(pooled))
        write_pool(q, pooled, out / f"{q['id']}.md")
    print(f"{len(sizes)} queries, pool sizes min {min(sizes)} median {sorted(sizes)[len(sizes) // 2]} "
          f"max {max(sizes)}, {sum(sizes)} sections to grade")


def write_pool(q: dict, pooled: list[dict], path: Path) -> None:
    """A query's pooled sections as a grader reads them. Exact copies (the same heading and text on one page) are
    shown once: their grade is the same."""
    copies: dict[tuple, list[dict]] = {}
    for s in pooled:
        copies.setdefault((s["source"], s["heading"], s["text"]), []).append(s)
    lines = [f"# {q['id']}  query: {q['q']}", f"intent: {q['intent']}",
             f"pooled sections: {len(copies)} (grade each ## id)", ""]
    for group in copies.values():
        s = group[0]
        same = " ".join(c["id"] for c in group[1:])
        lines += [f"## {s['id']}" + (f"   (same text as: {same})" if same else ""),
                  f"page: {s['source']} | document: {s['document']}", f"heading: {s['heading']}", s["text"], ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def cmd_pool_more(a) -> None:
    """Pool the sections another ranking puts in its top TOP that no grade covers yet (a graded copy of a section
    covers it), with ``--controls`` graded sections of the query mixed in, shuffled, so that graders see no
    difference; the controls' grades go to OUT_DIR/controls.json, to measure agreement with the first grading."""
    sections = corpus(a.source)
    by_id = {s["id"]: s for s in sections}
    group_of = copy_groups(sections)
    grades = json.loads(Path(a.grades).read_text(encoding="utf-8"))
    ranking = json.loads(Path(a.ranking).read_text(encoding="utf-8"))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    controls, sizes = {}, []
    for q in json.loads(Path(a.queries).read_text(encoding="utf-8")):
        graded = grades.get(q["id"], {}).get("grades", {})
        covered = {group_of[sid] for sid in graded if sid in group_of}
        new = [by_id[sid] for sid in ranking.get(q["id"], [])[:TOP] if group_of[sid] not in covered]
        new = list({group_of[s["id"]]: s for s in new}.values())  # one of each copy group
        if not new:
            continue

        def mixed(sid: str, qid: str = q["id"]) -> str:
            return hashlib.sha1((qid + sid).encode()).hexdigest()

        known = sorted((sid for sid in graded if sid in by_id), key=mixed)[:a.controls]
        controls[q["id"]] = {sid: graded[sid] for sid in known}
        pooled = sorted(new + [by_id[sid] for sid in known], key=lambda s: mixed(s["id"]))
        sizes.append(len(new))
        write_pool(q, pooled, out / f"{q['id']}.md")
    (out / "controls.json").write_text(json.dumps(controls, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(sizes)} queries with new sections: {sum(sizes)} to grade (median {sorted(sizes)[len(sizes) // 2]}),"
          f" plus {sum(len(c) for c in controls.values())} graded ones mixed in as controls")


def cmd_merge(a) -> None:
    """Add the grades of a pool-more round (graders' JSON files: query id → {"grades", "notes"}) to GRADES.json:
    the new sections only (a control keeps its first grade), each exact copy shown with it graded the same; and
    say how often the graders agreed with the first grading on the controls."""
    grades = json.loads(Path(a.grades).read_text(encoding="utf-8"))
    pooled = Path(a.pooled)
    controls = json.loads((pooled / "controls.json").read_text(encoding="utf-8"))
    new: dict[str, dict] = {}
    for f in a.graded:
        new.update(json.loads(Path(f).read_text(encoding="utf-8")))
    same = near = total = added = 0
    for qid, answer in sorted(new.items()):
        shown = (pooled / f"{qid}.md").read_text(encoding="utf-8")
        copies = {m.group(1): m.group(2).split() if m.group(2) else []
                  for m in re.finditer(r"^## (\S+)(?:   \(same text as: (.*)\))?$", shown, re.M)}
        if set(answer["grades"]) != set(copies):
            sys.exit(f"{qid}: the grades do not cover the pooled sections exactly")
        entry = grades.setdefault(qid, {"grades": {}, "notes": ""})
        for sid, g in answer["grades"].items():
            if sid in controls.get(qid, {}):
                first = controls[qid][sid]
                total += 1
                same += g == first
                near += abs(g - first) <= 1
                continue
            for x in [sid, *copies[sid]]:
                entry["grades"][x] = int(g)
                added += 1
        if answer.get("notes"):
            entry["notes"] = (entry["notes"] + " " if entry["notes"] else "") + f"[{a.label}] {answer['notes']}"
    Path(a.grades).write_text(json.dumps(grades, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{added} grades added to {len(new)} queries; controls: {same} of {total} graded the same as before, "
          f"{near} within one grade")


def _nfkc(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def keys_for(section: dict, same_page: list[dict]) -> list[str]:
    """Passages from the start, middle and end of the section that no other section of its page holds (exact
    copies of the section aside), as eval_search.py compares them (NFKC, whitespace removed)."""
    body = _nfkc(section["heading"] + section["text"])
    own = _nfkc(section["text"])
    others = [_nfkc(s["heading"] + s["text"]) for s in same_page
              if s["id"] != section["id"] and _nfkc(s["text"]) != own]
    n = len(body)
    width = min(KEY_CHARS, n)
    picks = []
    for anchor in (len(_nfkc(section["heading"])), n // 2, n - width):
        for step in range(0, n):
            for start in (anchor + step, anchor - step):
                if 0 <= start <= n - width:
                    cand = body[start:start + width]
                    if not any(cand in o for o in others):
                        picks.append(cand)
                        break
            else:
                continue
            break
    return list(dict.fromkeys(picks))


def copy_groups(sections: list[dict]) -> dict[str, str]:
    """Section id → the id of its group: exact copies (same page, same text) and the sections of a document
    the cleaner marked as a near-copy of another (``duplicate_of``) are one passage to a reader. A judgment
    covers the whole group, so a second copy in the results earns nothing and counts as a duplicate."""
    parent = {s["id"]: s["id"] for s in sections}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[tuple, str] = {}
    for s in sections:
        other = first.setdefault((s["source"], _nfkc(s["text"])), s["id"])
        for target in (other, s.get("duplicate_of")):
            if target and target in parent:
                parent[find(s["id"])] = find(target)
    return {x: find(x) for x in parent}


def cmd_assemble(a) -> None:
    sections = corpus(a.source)
    by_id = {s["id"]: s for s in sections}
    by_page: dict[str, list[dict]] = {}
    for s in sections:
        by_page.setdefault(s["source"], []).append(s)
    group_of = copy_groups(sections)
    grades = json.loads(Path(a.grades).read_text(encoding="utf-8"))
    out = []
    for q in json.loads(Path(a.queries).read_text(encoding="utf-8")):
        groups: dict[str, dict] = {}
        for sid, g in sorted(grades.get(q["id"], {}).get("grades", {}).items()):
            if g <= 0:
                continue
            s = by_id.get(sid)
            if s is None:
                sys.exit(f"{q['id']}: graded section {sid} is not in the corpus (did the cleaner change?)")
            keys = keys_for(s, by_page[s["source"]])
            if not keys:
                sys.exit(f"{q['id']}: no passage identifies {sid}")
            j = groups.setdefault(group_of[sid], {"src": s["source"], "keys": [], "g": 0, "id": group_of[sid]})
            j["keys"] = list(dict.fromkeys(j["keys"] + keys))
            j["g"] = max(j["g"], g)
        rel = sorted(groups.values(), key=lambda j: (-j["g"], j["id"]))
        out.append({"id": q["id"], "q": q["q"], "intent": q["intent"], "split": q.get("split", "dev"),
                    "rel": rel})
    Path(a.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(out)} queries, {sum(len(q['rel']) for q in out)} judgments, "
          f"{sum(1 for q in out if not q['rel'])} with no relevant section")


def cmd_bm25(a) -> None:
    sections = corpus(a.source)
    hits = BM25(sections).search(a.q, a.limit)
    print(json.dumps({"query": a.q, "total": len(hits), "results": [
        {"source": s["source"], "heading": s["heading"], "text": s["text"], "score": sc} for sc, s in hits]},
        ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pool")
    p.add_argument("queries")
    p.add_argument("out")
    p.add_argument("--source", default="scraped")
    p.add_argument("--index", required=True)
    m = sub.add_parser("pool-more")
    m.add_argument("queries")
    m.add_argument("grades")
    m.add_argument("ranking", help="JSON: query id → section ids, best first (e.g. semantic.py --ranking-out)")
    m.add_argument("out")
    m.add_argument("--source", default="scraped")
    m.add_argument("--controls", type=int, default=4)
    g = sub.add_parser("merge")
    g.add_argument("grades")
    g.add_argument("pooled", help="the pool-more OUT_DIR (its QID.md files and controls.json)")
    g.add_argument("graded", nargs="+", help="the graders' JSON files")
    g.add_argument("--label", default="second pool")
    s = sub.add_parser("assemble")
    s.add_argument("queries")
    s.add_argument("grades")
    s.add_argument("out")
    s.add_argument("--source", default="scraped")
    b = sub.add_parser("bm25")
    b.add_argument("q")
    b.add_argument("--source", default="scraped")
    b.add_argument("--limit", type=int, default=10)
    b.add_argument("--json", action="store_true")
    a = ap.parse_args()
    {"pool": cmd_pool, "pool-more": cmd_pool_more, "merge": cmd_merge, "assemble": cmd_assemble,
     "bm25": cmd_bm25}[a.cmd](a)


if __name__ == "__main__":
    main()
