"""Completing the judged set (bench/relevance/pool.py pool-more, merge) on scraped/ and the real grades: what
another ranking finds that no grade covers is pooled with graded controls mixed in, and the graders' answers
are merged without touching a control's first grade."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT

RELEVANCE = ROOT / "bench" / "relevance"
sys.path.insert(0, str(RELEVANCE))


def pool_py(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RELEVANCE / "pool.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    from pool import copy_groups, corpus

    tmp = tmp_path_factory.mktemp("pooling")
    sections = corpus(str(ROOT / "scraped"))
    queries = json.loads((RELEVANCE / "queries.src.json").read_text(encoding="utf-8"))
    # Another ranking: the corpus from its end, the same for every query (most of it never graded for most).
    ranking = {q["id"]: [s["id"] for s in reversed(sections)] for q in queries[:6]}
    (tmp / "ranking.json").write_text(json.dumps(ranking), encoding="utf-8")
    grades = tmp / "grades.json"
    shutil.copy(RELEVANCE / "grades.json", grades)
    done = pool_py("pool-more", RELEVANCE / "queries.src.json", grades, tmp / "ranking.json", tmp / "out",
                   "--controls", 3)
    assert done.returncode == 0, done.stderr
    return tmp, grades, ranking, copy_groups(sections), json.loads(grades.read_text(encoding="utf-8"))


def shown_ids(path) -> list[str]:
    return re.findall(r"^## (\S+)", path.read_text(encoding="utf-8"), re.M)


def test_pool_more_shows_only_ungraded_sections_and_the_controls(pooled):
    tmp, _, ranking, group_of, grades = pooled
    controls = json.loads((tmp / "out" / "controls.json").read_text(encoding="utf-8"))
    assert set(controls) == set(ranking)
    for qid in ranking:
        graded = grades[qid]["grades"]
        assert len(controls[qid]) == 3 and all(graded[sid] == g for sid, g in controls[qid].items())
        covered = {group_of[sid] for sid in graded}
        new = [sid for sid in shown_ids(tmp / "out" / f"{qid}.md") if sid not in controls[qid]]
        assert new and all(group_of[sid] not in covered for sid in new)
        assert set(new) <= set(ranking[qid][:20])


def test_merge_adds_the_new_grades_and_keeps_the_controls(pooled):
    tmp, grades_file, ranking, _, before = pooled
    controls = json.loads((tmp / "out" / "controls.json").read_text(encoding="utf-8"))
    answers: dict[str, dict] = {}
    for qid in ranking:
        ids = shown_ids(tmp / "out" / f"{qid}.md")
        # Every new section 1; one control graded otherwise than the first time.
        answers[qid] = {"grades": {sid: controls[qid].get(sid, 1) for sid in ids}, "notes": "test round"}
    first_control = next(iter(controls[next(iter(ranking))]))
    answers[next(iter(ranking))]["grades"][first_control] = 2 if controls[next(iter(ranking))][first_control] < 2 \
        else 0
    (tmp / "answers.json").write_text(json.dumps(answers), encoding="utf-8")

    incomplete = {qid: {"grades": dict(list(a["grades"].items())[1:])} for qid, a in answers.items()}
    (tmp / "incomplete.json").write_text(json.dumps(incomplete), encoding="utf-8")
    refused = pool_py("merge", grades_file, tmp / "out", tmp / "incomplete.json")
    assert refused.returncode != 0 and "do not cover" in refused.stderr
    assert json.loads(grades_file.read_text(encoding="utf-8")) == before  # nothing written

    done = pool_py("merge", grades_file, tmp / "out", tmp / "answers.json", "--label", "test")
    assert done.returncode == 0, done.stderr
    total = sum(len(c) for c in controls.values())
    assert f"controls: {total - 1} of {total} graded the same as before" in done.stdout
    after = json.loads(grades_file.read_text(encoding="utf-8"))
    for qid in ranking:
        for sid, g in controls[qid].items():
            assert after[qid]["grades"][sid] == g  # a control keeps its first grade
        new = set(after[qid]["grades"]) - set(before[qid]["grades"])
        assert new and all(after[qid]["grades"][sid] == 1 for sid in new)
        assert after[qid]["notes"].endswith("[test] test round")
    untouched = set(before) - set(ranking)
    assert all(after[qid] == before[qid] for qid in untouched)
