"""Word and PDF files: write documents as .docx/.pdf (python-docx, reportlab), then index them and report files/s.

    python bench/office_speed.py [--files 200] [--workers 2] [--out bench/results/office-speed.md]

The files are made here from the gold pages' documents (/work/shared/pages/*.gold.json, or ../shared/pages
beside the repository), so nothing third-party is committed. ``make_docx`` and ``make_pdf`` are also what
tests/test_office_files.py writes its files with. Speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
GOLD_DIRS = (ROOT.parent / "shared" / "pages", Path("/work/shared/pages"))
HEADER = "某某市总工会 内部资料"  # running header written on every page / in every Word header
FOOTER = "工会办公室编印"


def gold_pages() -> list[tuple[str, dict]]:
    """(stem, gold) for every gold page found."""
    for d in GOLD_DIRS:
        files = sorted(d.glob("*.gold.json")) if d.is_dir() else []
        if files:
            return [(f.name.removesuffix(".gold.json"), json.loads(f.read_text(encoding="utf-8"))) for f in files]
    return []


def heading_depth(heading: str) -> int:
    """1 for 一、/1、 headings, 2 for （一） subheadings."""
    return 2 if heading.startswith(("（", "(")) else 1


def _date(gold: dict) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(gold["date"]) if gold.get("date") else None
    except ValueError:
        return None


def make_docx(gold: dict, path: Path, styles: str = "en") -> Path:
    """Write a gold page's documents as .docx. ``styles``: "en" (Title / Heading 1–2), "cn" (styles named
    标题 / 标题 1 / 标题 2, as a Chinese Word writes them) or "none" (every paragraph Normal: numbering only).
    Every section gets a running header and a footer; the core properties carry title and date."""
    from docx import Document
    from docx.enum.style import WD_STYLE_TYPE

    doc = Document()
    names = {0: "Title", 1: "Heading 1", 2: "Heading 2", 3: "Heading 3"}
    if styles == "cn":
        for level, base in list(names.items()):
            name = "标题" if level == 0 else f"标题 {level}"
            st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            st.base_style = doc.styles["Normal"]
            st.font.bold = True
            names[level] = name
            _ = base
    multi = len(gold["documents"]) > 1

    def para(text: str, level: int | None) -> None:
        doc.add_paragraph(text, style=names[level] if level is not None and styles != "none" else None)

    for d in gold["documents"]:
        para(d["title"], 1 if multi else 0)
        for s in d["sections"]:
            if s["heading"]:
                para(s["heading"], heading_depth(s["heading"]) + (1 if multi else 0))
            for line in s["text"].split("\n"):
                para(line, None)
    sec = doc.sections[0]
    sec.header.paragraphs[0].text = HEADER
    sec.footer.paragraphs[0].text = FOOTER
    doc.core_properties.title = gold["title"]
    when = _date(gold)
    if when:
        doc.core_properties.created = when
    doc.save(str(path))
    return path


def make_pdf(gold: dict, path: Path, repeat: int = 1) -> Path:
    """Write a gold page's documents as a PDF in STSong-Light (reportlab's built-in CJK font): first-line indents,
    wrapped lines, a running header and a page number ("- N -") on every page. ``repeat`` copies the body."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("b", fontName="STSong-Light", fontSize=11, leading=18, firstLineIndent=22,
                          wordWrap="CJK")
    head = ParagraphStyle("h", parent=body, fontSize=13, leading=22, firstLineIndent=0, spaceBefore=6)
    title = ParagraphStyle("t", parent=body, fontSize=17, leading=28, firstLineIndent=0, alignment=1)
    story: list = []
    for _ in range(repeat):
        for d in gold["documents"]:
            story += [Paragraph(_esc(d["title"]), title), Spacer(1, 6)]
            for s in d["sections"]:
                if s["heading"]:
                    story.append(Paragraph(_esc(s["heading"]), head))
                story += [Paragraph(_esc(line), body) for line in s["text"].split("\n")]

    def page(canvas, _doc) -> None:
        canvas.saveState()
        canvas.setFont("STSong-Light", 9)
        canvas.drawString(72, A4[1] - 40, HEADER)
        canvas.drawCentredString(A4[0] / 2, 30, f"- {canvas.getPageNumber()} -")
        canvas.restoreState()

    out = SimpleDocTemplate(str(path), pagesize=A4, title=gold["title"], author="", subject="")
    out.build(story, onFirstPage=page, onLaterPages=page)
    return path


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def make_corpus(n: int, folder: Path) -> list[Path]:
    """n files, alternately .docx and .pdf, cycling through the gold pages."""
    pages = gold_pages()
    if not pages:
        raise SystemExit("no gold pages found (../shared/pages)")
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        stem, gold = pages[i % len(pages)]
        if i % 2:
            out.append(make_pdf(gold, folder / f"{stem}-{i:04d}.pdf"))
        else:
            out.append(make_docx(gold, folder / f"{stem}-{i:04d}.docx", styles=("en", "cn", "none")[i // 2 % 3]))
    return out


def load_times(files: list[Path]) -> dict[str, float]:
    """Milliseconds per file to load (convert) and to load + clean, per suffix, in this process."""
    sys.path.insert(0, str(ROOT))
    from indexer.clean import clean_page
    from indexer.load import load_page

    out = {}
    for suffix in sorted({p.suffix for p in files}):
        some = [p for p in files if p.suffix == suffix][:40]
        load_page(some[0])  # imports
        started = time.perf_counter()
        pages = [load_page(p) for p in some]
        loaded = time.perf_counter()
        for page in pages:
            clean_page(page)
        out[suffix] = ((loaded - started) * 1000 / len(some), (time.perf_counter() - started) * 1000 / len(some))
    return out


def run(n: int, workers: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="office-speed-"))
    try:
        files = make_corpus(n, work / "src")
        config = work / "config.yaml"
        config.write_text(f"source_dir: {work / 'src'}\nindex_dir: {work / 'index'}\ncache_dir: {work / 'cache'}\n",
                          encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "webapp.cli", "index", "--full", "--quiet", "--workers",
                               str(workers), "--config", str(config)], capture_output=True, text=True, cwd=ROOT,
                              env=env)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"index failed:\n{proc.stderr[-2000:]}")
        return {"load_ms": load_times(files), "files": len(files), "docx": sum(p.suffix == ".docx" for p in files),
                "pdf": sum(p.suffix == ".pdf" for p in files), "seconds": seconds,
                "files_per_s": len(files) / seconds, "workers": workers,
                "summary": (proc.stdout.splitlines() or [""])[0]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, help="write a Markdown report here")
    a = ap.parse_args()
    r = run(a.files, a.workers)
    line = (f"{r['files']} files ({r['docx']} .docx, {r['pdf']} .pdf), {a.workers} workers: {r['seconds']:.1f} s "
            f"end to end = {r['files_per_s']:.1f} files/s")
    loads = "; ".join(f"{suffix}: load {lo:.1f} ms, load + clean {lc:.1f} ms per file"
                      for suffix, (lo, lc) in r["load_ms"].items())
    print(line)
    print(r["summary"])
    print(loads)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(f"# Office files: indexing speed\n\n`python bench/office_speed.py --files {a.files} "
                         f"--workers {a.workers}` on this 2-core machine (target: at least 20 files/s).\n\n"
                         f"- {line} (process start, analysis and index writing included)\n"
                         f"- index summary: `{r['summary']}`\n- one process, converting only: {loads}\n",
                         encoding="utf-8")


if __name__ == "__main__":
    main()
