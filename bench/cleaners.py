"""Benchmark: our cleaner next to trafilatura, readability-lxml and a BeautifulSoup get_text baseline.

    python bench/cleaners.py                 # runs both shared scorers for every extractor, writes bench/CLEANERS.md
    python bench/cleaners.py --extract NAME PAGE   # (internal) print one page's text with extractor NAME

Every extractor gets the same decoded text (our loader: BOM → UTF-8 → declared charset → detector), so the
comparison is about extraction, not decoding. Needs trafilatura and readability-lxml installed (not project
dependencies). Not a test: the gate with pinned floors is tests/test_clean_gold.py.
"""

from __future__ import annotations

import datetime
import re
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOOLS = SHARED / "tools"
OUT = Path(__file__).with_name("CLEANERS.md")
EXTRACTORS = ["ours", "trafilatura", "readability", "bs4"]


def extract(name: str, path: str) -> str:
    sys.path.insert(0, str(ROOT))
    from indexer.load import load_page

    page = load_page(path)
    html = page.text
    if name == "trafilatura":
        import trafilatura

        return trafilatura.extract(html, include_comments=False) or ""
    if name == "readability":
        import lxml.html
        from readability import Document

        summary = Document(html).summary(html_partial=True)
        return lxml.html.fromstring(summary).text_content() if summary.strip() else ""
    if name == "bs4":
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(html, "lxml")
        for el in soup(["script", "style", "noscript", "template"]):
            el.decompose()
        return soup.get_text("\n")
    raise SystemExit(f"unknown extractor {name}")


def command(name: str) -> tuple[str, bool]:
    py = shlex.quote(sys.executable)
    if name == "ours":
        return f"cd {shlex.quote(str(ROOT))} && {py} -m indexer.clean {{page}} --json", False
    return f"{py} {shlex.quote(str(Path(__file__).resolve()))} --extract {name} {{page}}", True


def last_line(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()
    return out[-1] if out else "(no output)"


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--extract":
        sys.stdout.buffer.write(extract(sys.argv[2], sys.argv[3]).encode("utf-8"))
        return
    rows = []
    for name in EXTRACTORS:
        cmd, text_mode = command(name)
        t = time.time()
        gold = last_line([sys.executable, str(TOOLS / "score_cleaner.py"), str(SHARED / "pages"), "--cmd", cmd]
                         + (["--text"] if text_mode else []))
        real = last_line([sys.executable, str(TOOLS / "score_realworld.py"), "--cmd", cmd, "--quiet"])
        rows.append((name, gold, real, time.time() - t))
        print(f"{name:12s} pages:     {gold}\n{'':12s} realworld: {real}", flush=True)
    versions = ", ".join(f"{d} {version(d)}" for d in ("trafilatura", "readability-lxml", "beautifulsoup4", "lxml"))
    lines = [
        "# Cleaner benchmark",
        "",
        f"Run {datetime.date.today().isoformat()} with `python bench/cleaners.py` ({versions}).",
        "Every extractor gets the same decoded text from `indexer.load`. `pages` = `../shared/tools/score_cleaner.py "
        "../shared/pages` (structured for ours; `--text` mode for the others, so docsplit/headings are n/a); "
        "`realworld` = `../shared/tools/score_realworld.py` over the 61 pages of `../shared/realworld-zh`.",
        "",
        "| extractor | pages (score_cleaner) | realworld (score_realworld) |",
        "|---|---|---|",
    ]
    for name, gold, real, _ in rows:
        lines.append(f"| {name} | `{gold}` | `{real}` |")
    lines += ["", "Summary lines:", ""]
    for name, gold, real, _ in rows:
        lines.append(f"- {name}: pages `{squash(gold)}`; realworld `{real}`")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
