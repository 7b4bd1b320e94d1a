"""A deterministic synthetic corpus of saved pages for the benchmarks.

    python bench/make_corpus.py N OUT [--seed S]

Recombines the paragraphs and headings of the shared gold pages and seed texts into N pages with varied
organisations, years, site templates (boilerplate around the article), several documents per page now and then
(sometimes a repeated one), and encodings: mostly UTF-8 HTML, some GBK HTML (declared ``charset=gbk``) and some
plain-text saves. Every page starts with a ``<!-- saved from url=(NNNN)URL -->`` line, as a browser writes it.
The same N and seed always give byte-identical files, so a 1k corpus is the first 1k pages of a 10k one.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NUMERALS = "一二三四五六七八九十"
_HEADING = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[、.．])\s*([^。：:；;]{4,30})[。：:；;]?")
_NUMBER = re.compile(r"\d+")

PLACES = ["海宁市", "长沙", "温州市", "成都市", "青岛", "南宁市", "昆明", "太原市", "合肥", "兰州市", "大连",
          "宁波", "佛山市", "徐州", "洛阳市", "襄阳", "遵义市", "绵阳", "包头市", "赣州"]
ORGS = ["人民医院", "中医院", "第一中学", "实验小学", "职业技术学院", "教育局", "供电公司", "机务段", "煤矿",
        "建设集团", "税务局", "街道办事处", "社区服务中心", "农商银行", "自来水公司", "妇幼保健院", "卫生院",
        "交通运输局", "市场监督管理局", "纺织厂"]
KINDS = ["工会工作总结", "工会年度工作总结", "工会工作计划", "职代会工作报告", "工会上半年工作总结",
         "女职工委员会工作总结", "工会经费审查报告", "职工之家建设总结"]
SITES = [
    ("www.zuowendang.com", "作文档"), ("www.777doc.com", "三七文档"), ("www.gonghui-wang.cn", "工会网"),
    ("wenku.example-fanwen.com", "范文库"), ("www.cnrencai.com", "人才网"), ("zgh.city-union.gov.cn", "市总工会"),
    ("www.xuexila.com", "学习啦"), ("www.ruiwen.com", "瑞文网"),
]
FILLER = ["下面是小编为大家整理的{t}，欢迎大家阅读分享借鉴，希望对大家有所帮助。",
          "总结是对过去一定时期的工作进行回顾、分析，并做出客观评价的书面材料。以下是{t}范文。",
          "【参考指引】此例优秀文档“{t}”由网友为您整理编辑，以供阅读参考。"]
NAV = ["首页", "工作总结", "工作计划", "心得体会", "述职报告", "演讲稿", "规章制度", "合同范本", "应急预案"]


def _page_material() -> list[dict]:
    """The shared gold files when ../shared is there; else what our cleaner makes of scraped/'s HTML pages
    (the same pages), so the script also runs in a bare clone."""
    golds = sorted((SHARED / "pages").glob("*.gold.json"))
    if golds:
        return [json.loads(g.read_text(encoding="utf-8")) for g in golds]
    from indexer.clean import clean_page
    from indexer.load import load_page

    pages = sorted((ROOT / "scraped").glob("*.html"))
    return [clean_page(load_page(p, p.parent)).to_json() for p in pages]


def load_material() -> tuple[list[str], list[str]]:
    """(paragraphs, headings) from the shared gold pages and seed texts."""
    paras: list[str] = []
    heads: list[str] = []
    for data in _page_material():
        for doc in data["documents"]:
            for sec in doc["sections"]:
                if sec["heading"]:
                    heads.append(re.sub(r"^[（(]?[一二三四五六七八九十\d]+[）)、.．]\s*", "", sec["heading"]))
                paras += [p for p in sec["text"].split("\n") if len(p) >= 30]
    seeds = sorted((SHARED / "seeds").glob("*.txt")) or sorted((ROOT / "scraped").glob("0*.txt"))
    for seed in seeds:
        for line in seed.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if len(line) < 40:
                continue
            m = _HEADING.match(line)
            if m:
                heads.append(m.group(1))
                line = line[m.end():].strip()
            if len(line) >= 40:
                paras.append(line[:600])
    return sorted(set(paras)), sorted(set(h for h in heads if 4 <= len(h) <= 30))


def vary(text: str, rng: random.Random, org: str, year: int) -> str:
    """Change numbers, years and placeholders so that pages differ (and the vocabulary grows)."""
    text = text.replace("201*", str(year)).replace("20xx", str(year)).replace("20XX", str(year))
    text = text.replace("XX", org[:2]).replace("xx", org[:2])

    def number(m: re.Match) -> str:
        digits = m.group()
        if len(digits) == 4 and digits[:2] in ("19", "20"):
            return str(rng.randint(year - 3, year))
        return str(rng.randint(1, 10 ** min(len(digits), 4)))

    return _NUMBER.sub(number, text)


def make_page(i: int, paras: list[str], heads: list[str], seed: int) -> tuple[str, str, bytes]:
    """(relative path, url, bytes) of page ``i``."""
    rng = random.Random(f"{seed}:{i}")
    domain, site_name = SITES[rng.randrange(len(SITES))]
    place, org = rng.choice(PLACES), rng.choice(ORGS)
    year = rng.randint(2008, 2025)
    full_org = place + org + "工会"
    title = f"{full_org}{year}年{rng.choice(KINDS)}"
    docs = []
    for d in range(rng.choice((1, 1, 1, 2, 3))):
        if d and rng.random() < 0.2:
            docs.append(docs[0])  # a repeated article, as copy-paste sites do
            continue
        sections = []
        for s in range(rng.randint(2, 7)):
            heading = "" if s == 0 else f"{NUMERALS[(s - 1) % 10]}、{vary(rng.choice(heads), rng, org, year)}"
            body = [vary(rng.choice(paras), rng, org, year) for _ in range(rng.randint(1, 3))]
            sections.append((heading, body))
        docs.append((f"{title}篇{NUMERALS[d]}" if d else title, sections))
    url = f"https://{domain}/{rng.choice(['fanwen', 'doc', 'article', 'gonghui'])}/{year}/{100000 + i}.html"
    saved = f"<!-- saved from url=({len(url):04d}){url} -->"
    kind = rng.random()
    folder = f"{domain}/{i // 1000:03d}"
    if kind < 0.1:  # a plain-text save
        lines = [saved, title, f"发布时间：{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
        for dt, sections in docs:
            lines.append(dt)
            for heading, body in sections:
                lines += ([heading] if heading else []) + body
        return f"{folder}/{i:06d}.txt", url, "\n".join(lines).encode("utf-8")
    gbk = kind > 0.8
    charset = "gbk" if gbk else "utf-8"
    e = html.escape
    nav = "".join(f'<li><a href="https://{domain}/{n}/">{n}</a></li>' for n in rng.sample(NAV, 6))
    article = []
    for dt, sections in docs:
        article.append(f"<h2>{e(dt)}</h2>")
        for heading, body in sections:
            if heading:
                article.append(f"<p><strong>{e(heading)}</strong></p>")
            article += [f"<p>{e(p)}</p>" for p in body]
    related = "".join(f'<li><a href="https://{domain}/doc/{rng.randint(1, 99999)}.html">{e(rng.choice(PLACES))}'
                      f'{e(rng.choice(ORGS))}{e(rng.choice(KINDS))}</a></li>' for _ in range(6))
    template = rng.randrange(3)
    wrap_open = ['<div class="content">', '<div id="article"><div class="con">', '<article class="post">'][template]
    wrap_close = ["</div>", "</div></div>", "</article>"][template]
    page = f"""<!DOCTYPE html>
{saved}
<html lang="zh-CN"><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{e(title)}_{e(site_name)}</title>
<meta name="keywords" content="{e(title)}">
<script>var _hmt = _hmt || []; window.DOC_ID = {i};</script>
</head>
<body>
<div class="header"><a href="https://{domain}/" class="logo">{e(site_name)}</a><ul class="nav">{nav}</ul></div>
<div class="location">当前位置：<a href="https://{domain}/">首页</a> &gt; {e(rng.choice(NAV))} &gt; {e(title)}</div>
<div class="main">
<h1>{e(title)}</h1>
<div class="info">发布时间：{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}　来源：{e(site_name)}
　编辑：admin</div>
{wrap_open}
<p>{e(rng.choice(FILLER).format(t=title))}</p>
{chr(10).join(article)}
{wrap_close}
<div class="share">分享到：微信 微博 QQ空间</div>
<div class="related"><h3>相关推荐</h3><ul>{related}</ul></div>
</div>
<div class="footer">Copyright © 2012-{year + 1} {e(site_name)} 版权所有　备案号：京ICP备{10000000 + i % 9999}号</div>
</body></html>
"""
    return f"{folder}/{i:06d}.html", url, page.encode("gb18030" if gbk else "utf-8", errors="replace")


def make_corpus(n: int, out: Path, seed: int = 7) -> list[Path]:
    """Write ``n`` pages under ``out`` (emptied first); return their paths."""
    paras, heads = load_material()
    if out.exists():
        shutil.rmtree(out)
    written = []
    for i in range(n):
        rel, _url, data = make_page(i, paras, heads, seed)
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of pages")
    ap.add_argument("out", type=Path, help="output folder (replaced)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    paths = make_corpus(args.n, args.out, args.seed)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} pages ({size / 1e6:.1f} MB) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
