"""What people searched: the opt-in query log (search.log_queries) written by the web faces, its rotation, its
safety (no IP, cookie or user agent; never breaks a search; whole lines from many threads and processes) and
`unionsearch report` over a log written by real searches of the sample corpus."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from indexer.cli import cli
from indexer.config import Config
from indexer.model import SearchResult
from indexer.querylog import QueryLog, day_file, day_files, read_entries, report
from indexer.search import search
from webapp import create_app, views

from helpers import ROOT

FACES_AND_PATHS = [("site", "/search"), ("widget", "/embed"), ("api", "/api/search")]


def logging_config(config: Config, log_dir: Path, on: bool = True) -> Config:
    return config.replace(log_dir=str(log_dir), search=dataclasses.replace(config.search, log_queries=on))


def client_for(config: Config):
    app = create_app(config)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def log_dir(tmp_path) -> Path:
    return tmp_path / "log"


@pytest.fixture
def logging_client(corpus_config, log_dir):
    return client_for(logging_config(corpus_config, log_dir))


def logged(log_dir: Path) -> list[dict]:
    return [json.loads(line) for path, _ in day_files(log_dir)
            for line in path.read_text(encoding="utf-8").splitlines()]


class Remember(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def querylog_messages():
    """What indexer.querylog logs (the `indexer` logger does not propagate once a command configured it)."""
    handler = Remember()
    logger = logging.getLogger("indexer.querylog")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


def expected_total(client, path: str, face: str) -> int:
    """The total the HTML face computed for the request, by the face's own options (grouped by document)."""
    app = client.application
    with app.test_request_context(path):
        options = views.search_options(default_per_page=views.EMBED_PER_PAGE if face == "widget" else None)
        cfg = app.config["UNIONSEARCH"].search
        return search(app.extensions["unionsearch.store"], views.query_arg(), options, cfg.max_query_chars).total


# ---- what is written ----------------------------------------------------------------------------------------------


def test_off_by_default_nothing_is_written(corpus_config, log_dir):
    assert Config().search.log_queries is False
    client = client_for(logging_config(corpus_config, log_dir, on=False))
    for _, path in FACES_AND_PATHS:
        assert client.get(f"{path}?q=职代会").status_code == 200
    assert day_files(log_dir) == []


def test_each_face_logs_one_line_per_search_and_nothing_else(logging_client, log_dir):
    before = datetime.now(UTC) - timedelta(seconds=1)
    responses = {face: logging_client.get(f"{path}?q=职代会") for face, path in FACES_AND_PATHS}
    assert all(r.status_code == 200 for r in responses.values())
    api = responses["api"].get_json()
    # Not searches: pages without a query, documents, health checks, suggestions, the feed.
    for path in ("/", "/search", "/embed", f"/doc/{api['results'][0]['doc_id']}", "/healthz", "/api/healthz",
                 "/api/suggest?q=职", "/feed?q=职代会", "/opensearch.xml", "/api/openapi.json"):
        logging_client.get(path)
    lines = logged(log_dir)
    assert [line["face"] for line in lines] == ["site", "widget", "api"]
    for line, (face, path) in zip(lines, FACES_AND_PATHS, strict=True):
        assert set(line) == {"time", "q", "results", "ms", "face", "page"}
        assert line["q"] == "职代会" and line["page"] == 1 and line["ms"] >= 0
        expected = api["total"] if face == "api" else expected_total(logging_client, f"{path}?q=职代会", face)
        assert line["results"] == expected > 0
        when = datetime.fromisoformat(line["time"])
        assert when.tzinfo is not None and before <= when <= datetime.now(UTC)
    assert [p.name for p, _ in day_files(log_dir)] == [f"queries-{datetime.now().astimezone().date()}.jsonl"]


def test_the_log_holds_no_ip_cookie_or_user_agent(logging_client, log_dir):
    private = {"X-Forwarded-For": "203.0.113.77, 10.9.8.7", "X-Real-IP": "198.51.100.42",
               "Cookie": "session=cookie-secret-4711; uid=user-secret-0815", "User-Agent": "AgentSecret/9.9",
               "Referer": "http://intranet.example/private-page"}
    for _, path in FACES_AND_PATHS:
        response = logging_client.get(f"{path}?q=农民工入会", headers=private,
                                      environ_base={"REMOTE_ADDR": "192.0.2.99"})
        assert response.status_code == 200
    text = "".join(p.read_text(encoding="utf-8") for p, _ in day_files(log_dir))
    assert text.count("农民工入会") == 3
    for secret in ("203.0.113.77", "10.9.8.7", "198.51.100.42", "192.0.2.99", "127.0.0.1", "cookie-secret",
                   "user-secret", "session", "AgentSecret", "intranet.example", "private-page"):
        assert secret not in text, secret


def test_filters_paging_and_corrections_are_recorded(logging_client, log_dir):
    logging_client.get("/search?q=工会&page=2")
    logging_client.get("/api/search?q=工会&site=zuowendang.com")
    logging_client.get("/api/search?q=职工之佳")
    paged, filtered, corrected = logged(log_dir)
    assert paged["page"] == 2 and paged["results"] > 10 and "filters" not in paged
    assert filtered["filters"] == {"site": "zuowendang.com"} and 0 < filtered["results"] < paged["results"]
    assert corrected["corrected"] == "职工之家" and corrected["q"] == "职工之佳"


# ---- a log that cannot be written never breaks a search -----------------------------------------------------------


def test_an_unwritable_log_folder_is_logged_once_and_searches_go_on(corpus_config, tmp_path, querylog_messages):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")  # even root cannot make a folder inside a file
    client = client_for(logging_config(corpus_config, blocker / "log"))
    for face, path in FACES_AND_PATHS * 2:
        response = client.get(f"{path}?q=职代会")
        assert response.status_code == 200, face
    warnings = [r for r in querylog_messages if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot write the query log" in warnings[0].getMessage()


def result(query: str, total: int = 3, ms: float = 5.0, page: int = 1) -> SearchResult:
    return SearchResult(query=query, total=total, page=page, per_page=10, took_ms=ms)


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_a_full_disk_is_logged_once_and_writing_resumes(tmp_path, querylog_messages):
    if not Path("/dev/full").exists():
        pytest.fail("/dev/full is missing: the test needs a device that answers every write with ENOSPC")
    clock = Clock(datetime(2024, 5, 1, 9, tzinfo=timezone(timedelta(hours=8))))
    qlog = QueryLog(tmp_path, clock=clock)
    path = day_file(tmp_path, clock.now.date())
    path.symlink_to("/dev/full")  # every write: ENOSPC, as on a full disk
    assert [qlog.record(result(f"q{i}"), "site") for i in range(3)] == [False, False, False]
    path.unlink()
    assert qlog.record(result("back"), "site") is True
    assert [line["q"] for line in logged(tmp_path)] == ["back"]
    messages = [(r.levelno, r.getMessage()) for r in querylog_messages]
    assert len(messages) == 2 and messages[0][0] == logging.WARNING and "No space left" in messages[0][1]
    assert "can be written again" in messages[1][1]


# ---- rotation ---------------------------------------------------------------------------------------------------


def test_one_file_a_day_and_days_past_keep_days_are_deleted(tmp_path):
    clock = Clock(datetime(2024, 5, 1, 23, 59, 59, tzinfo=timezone(timedelta(hours=8))))
    qlog = QueryLog(tmp_path, keep_days=3, clock=clock)
    (tmp_path / "unionsearch.log").write_text("not ours\n", encoding="utf-8")
    for day in range(6):
        for n in range(day + 1):
            qlog.record(result(f"day{day}-{n}"), "api")
        clock.now += timedelta(days=1)
    files = day_files(tmp_path)
    assert [d for _, d in files] == [date(2024, 5, 4), date(2024, 5, 5), date(2024, 5, 6)]
    for path, day in files:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        index = (day - date(2024, 5, 1)).days
        assert [line["q"] for line in lines] == [f"day{index}-{n}" for n in range(index + 1)]
        assert all(line["time"].startswith(day.isoformat()) for line in lines)
    assert (tmp_path / "unionsearch.log").exists()  # only our day files are pruned


def test_a_day_file_stops_growing_at_its_cap(tmp_path, querylog_messages):
    clock = Clock(datetime(2024, 5, 1, 12, tzinfo=UTC))
    qlog = QueryLog(tmp_path, max_day_bytes=400, clock=clock)
    written = [qlog.record(result(f"查询{i}"), "site") for i in range(10)]
    size = day_file(tmp_path, clock.now.date()).stat().st_size
    assert written[:3] == [True] * 3 and not written[-1] and 400 <= size < 400 + 200
    assert sum(r.levelno == logging.WARNING for r in querylog_messages) == 1
    clock.now += timedelta(days=1)
    assert qlog.record(result("next day"), "site") is True


WRITER = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from indexer.model import SearchResult
    from indexer.querylog import QueryLog

    log_dir, proc = Path(sys.argv[1]), sys.argv[2]
    qlog = QueryLog(log_dir)
    def run(thread):
        for n in range(150):
            q = f"{proc}-{thread}-{n} " + "职工代表大会" * 120  # about 2 KB a line
            assert qlog.record(SearchResult(query=q, total=n, page=1, per_page=10, took_ms=1.5), "api")
    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
""")


def test_threads_and_processes_append_whole_lines(tmp_path):
    """Four processes of four threads write 2,400 lines of about 2 KB into one day file: every line arrives
    whole and once (each is one O_APPEND write)."""
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"p{p}"], cwd=ROOT) for p in range(4)]
    assert [proc.wait(timeout=120) for proc in procs] == [0] * 4
    raw = b"".join(path.read_bytes() for path, _ in day_files(tmp_path))
    lines = raw.decode("utf-8").splitlines()
    keys = [json.loads(line)["q"].split()[0] for line in lines]
    assert len(keys) == len(set(keys)) == 4 * 4 * 150
    assert len(day_files(tmp_path)) in (1, 2)  # two only if the run crossed midnight


# ---- the report -------------------------------------------------------------------------------------------------

SEARCHES = [
    "/search?q=职代会", "/search?q=职代会", "/embed?q=职代会", "/search?q=职代会&page=2",
    "/api/search?q=工会", "/api/search?q=工会&year=2023",
    "/search?q=量子纠缠", "/embed?q=量子纠缠",  # nothing about quantum physics in union documents
    "/api/search?q=职工之佳",  # a typo: the results of 职工之家 are shown
    "/search?q=职代会&year=1999",  # nothing in that year: a filter, not a missing word
]


def test_the_report_from_real_searches(logging_client, log_dir):
    for path in SEARCHES:
        assert logging_client.get(path).status_code == 200
    lines = logged(log_dir)
    figures = report(read_entries(log_dir), limit=10)
    assert figures["searches"] == len(SEARCHES) and figures["faces"] == {"site": 5, "widget": 2, "api": 3}
    assert [(row["query"], row["searches"]) for row in figures["top"]] == [
        ("职代会", 4), ("工会", 2), ("量子纠缠", 2), ("职工之佳", 1)]  # page 2 is not another search
    assert [(row["query"], row["searches"], row["corrected"]) for row in figures["zero_results"]] == [
        ("量子纠缠", 2, None), ("职工之佳", 1, "职工之家")]
    slowest = figures["slowest"]
    assert [row["query"] for row in slowest].count("职代会") == 1 and len(slowest) == 4
    assert [row["ms"] for row in slowest] == sorted((row["ms"] for row in slowest), reverse=True)
    assert slowest[0]["ms"] == max(line["ms"] for line in lines)
    assert report(read_entries(log_dir), limit=2)["top"] == figures["top"][:2]


def write_config(tmp_path: Path, log_dir: Path, on: bool = True) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"log_dir: {log_dir}\nsearch:\n  log_queries: {'true' if on else 'false'}\n", encoding="utf-8")
    return path


def test_the_report_command(logging_client, log_dir, tmp_path, runner):
    for path in SEARCHES:
        logging_client.get(path)
    config = write_config(tmp_path, log_dir)
    out = runner.invoke(cli, ["report", "--config", str(config), "--json", "--limit", "3"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["days"] == 30 and data["log_dir"] == str(log_dir)
    assert data["top"] == report(read_entries(log_dir), limit=3)["top"] and len(data["top"]) == 3
    text = runner.invoke(cli, ["report", "--config", str(config)])
    assert text.exit_code == 0, text.output
    top, zero, slow = (text.output.split("\n\n")[i] for i in (1, 2, 3))
    last_unfiltered = [line for line in logged(log_dir) if line["q"] == "职代会" and "filters" not in line][-1]
    assert top.startswith("top queries")
    assert top.splitlines()[1].split() == ["4", str(last_unfiltered["results"]), "职代会"]
    assert zero.splitlines()[1].split() == ["2", "量子纠缠"] and "(shown instead: 职工之家)" in zero
    assert slow.startswith("slowest queries") and len(slow.splitlines()) == 5


def test_the_report_reads_only_the_last_days_and_skips_bad_lines(tmp_path, runner):
    log_dir = tmp_path / "log"
    now = datetime.now().astimezone()
    clock = Clock(now - timedelta(days=40))
    qlog = QueryLog(log_dir, clock=clock)
    for age, query in ((40, "四十天前"), (10, "十天前"), (0, "今天")):
        clock.now = now - timedelta(days=age)
        assert qlog.record(result(query, total=0), "site")
    with day_file(log_dir, now.date()).open("ab") as f:
        f.write(b'{"time": "torn li\n\xff\xfe not json\n{"q": 1}\n')
    config = write_config(tmp_path, log_dir)
    for days, expected in ((7, ["今天"]), (30, ["今天", "十天前"]), (60, ["今天", "十天前", "四十天前"])):
        out = runner.invoke(cli, ["report", "--config", str(config), "--json", "--days", str(days)])
        assert out.exit_code == 0, out.output
        assert sorted(row["query"] for row in json.loads(out.output)["zero_results"]) == sorted(expected)


def test_the_report_says_when_the_log_is_off(tmp_path, runner):
    out = runner.invoke(cli, ["report", "--config", str(write_config(tmp_path, tmp_path / "log", on=False))])
    assert out.exit_code == 0, out.output
    assert "no searches logged in the last 30 days" in out.output and "search.log_queries: true" in out.output


def test_the_script_widget_logs_as_widget(logging_client, log_dir):
    """The script widget asks /api/search with client=widget (webapp/static/embed.js): its searches are the
    widget's in the log and the report, like the iframe's; other programs stay api; a bad value is a 400."""
    assert "client=widget" in (ROOT / "webapp" / "static" / "embed.js").read_text(encoding="utf-8")
    assert logging_client.get("/api/search?q=职代会&group=document&client=widget").status_code == 200
    assert logging_client.get("/api/search?q=职代会").status_code == 200
    assert logging_client.get("/api/search?q=职代会&client=robot").status_code == 400
    assert [line["face"] for line in logged(log_dir)] == ["widget", "api"]
