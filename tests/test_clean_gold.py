"""The cleaner gate: every shared gold page (../shared/pages) and the real-world set keep their pinned floors.

Scored the way ../shared/tools/score_cleaner.py scores (character-bigram F1 after NFKC and whitespace
removal; document count; heading recall). Floors live in tests/cleaner_floors.json; re-pin them with
``python tests/test_clean_gold.py --update`` after a deliberate improvement (never lower them silently).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from indexer.clean import CleanError, clean_page
from indexer.load import LoadError, load_page

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).parents[2] / "shared"
PAGES = SHARED / "pages"
REALWORLD = SHARED / "realworld-zh" / "pages"
FLOORS = Path(__file__).with_name("cleaner_floors.json")
NOISE = 0.0005
WS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def norm(s: str) -> str:
    return WS.sub("", unicodedata.normalize("NFKC", s or ""))


def bigrams(s: str) -> Counter:
    return Counter(s[i:i + 2] for i in range(len(s) - 1))


def prf(out: str, gold: str) -> tuple[float, float, float]:
    o, g = bigrams(out), bigrams(gold)
    ov = sum((o & g).values())
    p = ov / max(1, sum(o.values()))
    r = ov / max(1, sum(g.values()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def docs_text(docs) -> str:
    return "".join(d["title"] + "".join(s["heading"] + s["text"] for s in d["sections"]) for d in docs)


def score_gold_page(stem: str) -> dict:
    gold = json.loads((PAGES / f"{stem}.gold.json").read_text(encoding="utf-8"))
    cp = clean_page(load_page(PAGES / f"{stem}.html", PAGES)).to_json()
    p, r, f1 = prf(norm(docs_text(cp["documents"])), norm(docs_text(gold["documents"])))
    gh = Counter(norm(s["heading"]) for d in gold["documents"] for s in d["sections"] if s["heading"])
    oh = Counter(norm(s["heading"]) for d in cp["documents"] for s in d["sections"] if s["heading"])
    out = norm(docs_text(cp["documents"]))
    leaks = [b for b in gold["boilerplate"] if len(norm(b)) >= 2 and norm(b) in out]
    return {"f1": round(f1, 4), "docs": len(cp["documents"]), "gold_docs": len(gold["documents"]),
            "headings": round(sum((gh & oh).values()) / max(1, sum(gh.values())), 4), "leaks": leaks,
            "title": cp["title"], "gold_title": gold["title"], "date": cp["date"], "gold_date": gold["date"],
            "url": cp["url"], "gold_url": gold["url"]}


def score_realworld() -> float:
    f1s = []
    for meta in sorted(REALWORLD.glob("*.json")):
        ann = json.loads(meta.read_text(encoding="utf-8"))
        if not ann.get("gold_text"):
            continue
        try:
            cp = clean_page(load_page(meta.with_suffix(".html"), REALWORLD)).to_json()
            text = "\n".join(p for d in cp["documents"] for p in
                             [d["title"]] + [x for s in d["sections"] for x in (s["heading"], s["text"])] if p)
        except (LoadError, CleanError):
            text = ""
        out = "".join(unicodedata.normalize("NFKC", text).casefold().split())
        gold = "".join(unicodedata.normalize("NFKC", ann["gold_text"]).casefold().split())
        f1s.append(prf(out, gold)[2] if out else 0.0)
    return sum(f1s) / len(f1s)


def floors() -> dict:
    return json.loads(FLOORS.read_text(encoding="utf-8"))


needs_shared = pytest.mark.skipif(not PAGES.is_dir(), reason="../shared/pages not present")
STEMS = sorted(p.name[:-10] for p in PAGES.glob("*.gold.json")) if PAGES.is_dir() else []


@needs_shared
@pytest.mark.parametrize("stem", STEMS)
def test_gold_page_floor(stem):
    pin = floors()["pages"].get(stem)
    assert pin is not None, f"{stem} has no floor in {FLOORS.name}; run this file with --update"
    got = score_gold_page(stem)
    assert got["f1"] >= pin["f1"] - NOISE, got
    assert got["docs"] == pin["docs"], got
    assert got["headings"] >= pin["headings"] - NOISE, got
    assert not got["leaks"], got["leaks"]


@needs_shared
@pytest.mark.parametrize("stem", STEMS)
def test_gold_page_metadata(stem):
    got = score_gold_page(stem)
    assert got["title"] == got["gold_title"]
    assert got["date"] == got["gold_date"]
    assert got["url"] == got["gold_url"]


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld-zh not present")
def test_realworld_macro_f1_floor():
    assert score_realworld() >= floors()["realworld_f1"] - NOISE


def update() -> None:
    pages = {stem: {k: score_gold_page(stem)[k] for k in ("f1", "docs", "headings")} for stem in STEMS}
    old = floors() if FLOORS.exists() else {"pages": {}}
    rw = round(score_realworld(), 4)
    lowered = [s for s, v in pages.items() if s in old["pages"] and v["f1"] < old["pages"][s]["f1"] - NOISE]
    if rw < old.get("realworld_f1", 0) - NOISE:
        lowered.append("realworld")
    if lowered and "--allow-regression" not in sys.argv:
        sys.exit(f"would lower floors for {', '.join(lowered)}; pass --allow-regression to do it anyway")
    data = {"about": "Cleaner floors (tests/test_clean_gold.py); re-pin with --update", "noise": NOISE,
            "realworld_f1": rw, "pages": pages}
    tmp = FLOORS.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(FLOORS)
    print(f"pinned {len(pages)} pages, realworld F1 {rw}")


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
