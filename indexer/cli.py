"""The `unionsearch` command: a thin skin over the indexer's functions (parse, call, print).

Each command imports the step it runs when it runs (``from indexer.build import index_corpus`` inside
``index``): jieba, numpy, pypinyin and httpx cost ~0.7 s to import, and `unionsearch --help`, `stats` or a
typo's error message should not wait for them (0.3 s instead of 1.0 s to start, measured)."""

from __future__ import annotations

import html
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import click

from indexer.backends.base import Backend, IndexIncompatible, IndexMissing, LockBusy
from indexer.config import Config, ConfigError, find_config, load_config
from indexer.logs import configure as configure_logging


def _config(config_path: str | None, **overrides) -> Config:
    path = config_path or find_config()
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get("unionsearch.backend"):
        overrides["backend"] = ctx.meta["unionsearch.backend"]
    try:
        config = load_config(path, {k: v for k, v in overrides.items() if v is not None})
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    verbose = bool(ctx is not None and ctx.meta.get("unionsearch.verbose"))
    log_file = configure_logging(config.log_path, verbose)
    if ctx is not None:
        ctx.meta["unionsearch.log_file"] = log_file
    return config


def _see_log() -> str:
    ctx = click.get_current_context(silent=True)
    log_file = ctx.meta.get("unionsearch.log_file") if ctx is not None else None
    return f" (tracebacks in {log_file})" if log_file else ""


def _store(config: Config) -> Backend:
    from indexer.backends import open_store

    store = open_store(config)
    if not store.exists():
        raise click.ClickException(f"no index in {config.index_path}; run `unionsearch index` first")
    try:
        store.check()
    except (IndexMissing, IndexIncompatible) as e:
        raise click.ClickException(str(e)) from None
    return store


config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                             help="Settings file (default: ./config.yaml if present).")
_index_dir_option = click.option("--index", "index_dir", type=click.Path(file_okay=False), help="Index folder.")


def _remember_backend(ctx: click.Context, _param, value):
    if value:
        ctx.meta["unionsearch.backend"] = value
    return value


_backend_option = click.option("--backend", type=click.Choice(["whoosh", "sphinx"]), expose_value=False,
                               callback=_remember_backend, help="Search engine (default from config: whoosh).")


def index_option(f):
    """--index DIR and --backend whoosh|sphinx, on every command that opens the index."""
    return _index_dir_option(_backend_option(f))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="unionsearch")
@click.option("-v", "--verbose", is_flag=True, help="Show the log (also written to var/log/unionsearch.log).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool):
    """unionsearch: full-text search over saved Chinese trade-union documents."""
    ctx.meta["unionsearch.verbose"] = verbose


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the cleaned page as JSON.")
@config_option
def clean(path, as_json, config_path):
    """Clean one saved page and print its documents and sections."""
    from indexer.clean import CleanError, clean_page
    from indexer.load import LoadError, load_page

    config = _config(config_path)
    try:
        page = load_page(path, Path(path).parent, config.clean.max_file_bytes)
        cleaned = clean_page(page, config.clean)
    except (LoadError, CleanError) as e:
        raise click.ClickException(f"{path}: {e} ({e.reason})") from None
    if as_json:
        click.echo(json.dumps(cleaned.to_json(), ensure_ascii=False, indent=1))
        return
    click.echo(cleaned.to_text())


@cli.command()
@click.option("--source", "source_dir", type=click.Path(file_okay=False), help="Folder of saved pages.")
@index_option
@click.option("--full", is_flag=True, help="Rebuild everything into a new index and swap it in.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes (default: CPU count).")
@click.option("--quiet", is_flag=True, help="No progress and no per-page failure lines.")
@config_option
def index(source_dir, index_dir, full, workers, quiet, config_path):
    """Bring the index up to date: re-index new and changed pages, drop deleted ones.

    The first run, --full, and any change of analyser or cleaner settings rebuild everything into a new
    index that replaces the live one only when complete; searches keep working meanwhile."""
    from indexer.backends import open_store
    from indexer.build import index_corpus

    config = _config(config_path, source_dir=source_dir, index_dir=index_dir)
    if not config.source_path.is_dir():
        raise click.ClickException(f"source folder not found: {config.source_path}")
    try:
        report = index_corpus(config, open_store(config), full=full, workers=workers, progress=not quiet)
    except LockBusy as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"cannot write the index in {config.index_path}: {e.strerror or e}") from None
    except RuntimeError as e:  # a worker died; the live index is untouched
        raise click.ClickException(f"{e}; the previous index is still live{_see_log()}") from None
    summary = report.summary()
    click.echo(summary.splitlines()[0] if quiet else summary)
    if any(reason.startswith("internal") for _, reason in report.failures):
        click.echo(f"internal errors are cleaner bugs: please report them{_see_log()}", err=True)
    click.echo(f"index: {config.index_path}")


@cli.command()
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="Results per page.")
@click.option("--page", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@index_option
@config_option
def search(query, as_json, limit, page, sort, index_dir, config_path):
    """Search the index and print ranked sections."""
    from indexer.search import SearchOptions, result_to_json
    from indexer.search import search as run_search

    config = _config(config_path, index_dir=index_dir)
    store = _store(config)
    result = run_search(store, query, SearchOptions(page=page, per_page=limit, sort=sort,
                                                    snippet_chars=config.search.snippet_chars),
                        config.search.max_query_chars)
    if as_json:
        click.echo(json.dumps(result_to_json(result), ensure_ascii=False, indent=1))
        return
    about = "about " if result.total_estimated else ""
    click.echo(f"{about}{result.total} documents, {result.total_sections} sections ({result.took_ms:.0f} ms)"
               + (f" — {result.notice}" if result.notice else ""))
    for i, hit in enumerate(result.hits, (page - 1) * limit + 1):
        r = hit.record
        similar = f"  [+{hit.similar} similar]" if hit.similar else ""
        click.echo(f"\n{i}. {r.document} › {r.heading_path or '(开头)'}{similar}\n   {r.source}  {r.date or ''}")
        plain = hit.snippet.replace("<mark>", "\x1b[1m" if sys.stdout.isatty() else "[")
        plain = plain.replace("</mark>", "\x1b[0m" if sys.stdout.isatty() else "]")
        click.echo("   " + html.unescape(plain))


STATS_LABELS = (
    ("pages", "pages indexed"), ("failed_pages", "pages skipped"),
    ("pages_with_replacements", "pages with undecodable bytes (shown as �)"), ("documents", "documents"),
    ("sections", "sections"), ("terms", "distinct words"), ("size_bytes", "index size"), ("segments", "segments"),
    ("last_full_build", "last full build"), ("last_update", "last update"), ("fingerprint", "settings fingerprint"),
    ("generation", "generation"), ("source_dir", "source folder"),
)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@index_option
@config_option
def stats(as_json, index_dir, config_path):
    """Corpus and index figures: pages (by file type), documents, sections, words, size, last build, settings."""
    from indexer.manifest import MANIFEST_FILE, Manifest, pages_by_type

    config = _config(config_path, index_dir=index_dir)
    store = _store(config)
    figures = store.stats()
    # By type from the manifest the index keeps (each page's source and whether it was skipped), not the backend.
    by_type = pages_by_type(Manifest.from_json(store.read_file(MANIFEST_FILE)))
    figures["pages_by_type"], figures["skipped_by_type"] = by_type["indexed"], by_type["skipped"]
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=1))
        return
    for key, label in STATS_LABELS:
        value = figures.get(key)
        if value is None:
            continue
        if key == "size_bytes":
            value = f"{value / 1e6:.1f} MB"
        click.echo(f"{label}: {value}")
        if key in ("pages", "failed_pages"):
            counts = figures["pages_by_type" if key == "pages" else "skipped_by_type"]
            if any(counts.values()):
                click.echo("  by type: " + ", ".join(f"{kind} {n}" for kind, n in counts.items() if n))
    last = figures.get("last_run") or {}
    if last.get("mode"):
        click.echo(f"last run: {last['mode']}, {last.get('pages', 0)} pages cleaned ({last.get('new', 0)} new, "
                   f"{last.get('changed', 0)} changed, {last.get('deleted', 0)} deleted, {last.get('failed', 0)} "
                   f"failed) in {last.get('seconds') or 0:.1f}s")


def _echo_report(figures: dict) -> None:
    faces = ", ".join(f"{face} {n}" for face, n in sorted(figures["faces"].items()))
    first, last = (figures[k][:16].replace("T", " ") for k in ("first", "last"))
    click.echo(f"{figures['searches']} searches ({faces}), {figures['queries']} different queries, {first} to {last}")
    click.echo("\ntop queries (searches, results):")
    for row in figures["top"]:
        click.echo(f"{row['searches']:8d} {row['results']:8d}  {row['query']}")
    click.echo("\nqueries that found nothing (searches) - candidates for synonyms and user_dict words:")
    for row in figures["zero_results"]:
        shown = f"  (shown instead: {row['corrected']})" if row["corrected"] else ""
        click.echo(f"{row['searches']:8d}  {row['query']}{shown}")
    if not figures["zero_results"]:
        click.echo("       (none)")
    click.echo("\nslowest queries (ms, face, time):")
    for row in figures["slowest"]:
        click.echo(f"{row['ms']:8.0f}  {row['face']:<6}  {row['time'][:16].replace('T', ' ')}  {row['query']}")


@cli.command()
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True,
              help="Searches of the last N days.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Rows per list.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@config_option
def report(days, limit, as_json, config_path):
    """What people searched (needs search.log_queries: true): the top queries, the queries that found nothing
    and the slowest, from the query log in the log folder."""
    from indexer.querylog import read_entries
    from indexer.querylog import report as query_report

    config = _config(config_path)
    since = datetime.now().astimezone() - timedelta(days=days)
    figures = query_report(read_entries(config.log_path, since), limit)
    if as_json:
        figures = {"days": days, "log_dir": str(config.log_path), **figures}
        click.echo(json.dumps(figures, ensure_ascii=False, indent=1))
        return
    if not figures["searches"]:
        off = "" if config.search.log_queries else "; the query log is off (search.log_queries: true turns it on)"
        click.echo(f"no searches logged in the last {days} days in {config.log_path}{off}")
        return
    _echo_report(figures)


@cli.command()
@click.argument("urls", nargs=-1)
@click.option("--from", "from_file", type=click.File("r", encoding="utf-8"), help="File of URLs, one a line.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Save here (default: the source folder).")
@click.option("--delay", type=click.FloatRange(0), default=None, help="Seconds between requests to one host (1).")
@click.option("--timeout", type=click.FloatRange(0.1), default=None, help="Seconds to wait for a server (15).")
@click.option("--retries", type=click.IntRange(0, 10), default=None, help="Retries after a timeout or 5xx (3).")
@click.option("--max-bytes", type=click.IntRange(1), default=None, help="Largest page to save (10 MB).")
@click.option("--ignore-robots", is_flag=True, help="Do not read robots.txt (only for your own sites).")
@config_option
def fetch(urls, from_file, out_dir, delay, timeout, retries, max_bytes, ignore_robots, config_path):
    """Save pages into the source folder as scraped/<domain>/<path>, with their URL and fetch time.

    Polite by default: honours robots.txt, one request per second per host, retries with backoff."""
    from indexer.fetch import Fetcher, FetchSettings, read_url_list

    config = _config(config_path)
    targets = list(urls) + (read_url_list(from_file) if from_file else [])
    if not targets:
        raise click.UsageError("give at least one URL or --from FILE")
    defaults = FetchSettings()
    settings = FetchSettings(
        delay=defaults.delay if delay is None else delay, timeout=timeout or defaults.timeout,
        retries=defaults.retries if retries is None else retries, max_bytes=max_bytes or defaults.max_bytes,
        robots=not ignore_robots)
    out = Path(out_dir) if out_dir else config.source_path
    failed = 0
    with Fetcher(out, settings) as fetcher:
        for result in fetcher.fetch_all(targets):
            if result.ok:
                click.echo(f"saved {result.url} -> {result.path} ({result.size} bytes)")
            else:
                failed += 1
                click.echo(f"failed {result.url}: {result.error}", err=True)
    click.echo(f"{len(targets) - failed} saved, {failed} failed; run `unionsearch index` to index them")
    if failed:
        sys.exit(1)


def _local_cluster() -> ModuleType:
    # The sphinx backend (and its MySQL client) loads only for the commands that need it.
    from indexer.backends.sphinx import cluster as local

    return local


@cli.group()
def cluster():
    """A local searchd cluster for trying the sphinx backend (needs Sphinx's `searchd`)."""


def _cluster_dir(config_path: str | None) -> Path:
    return _config(config_path).path(_config(config_path).sphinx.nodes_file).parent


@cluster.command("start")
@click.option("--nodes", type=click.IntRange(1, 16), default=3, show_default=True, help="searchd processes.")
@click.option("--shards", type=click.IntRange(1, 16), default=2, show_default=True, help="Shards (the rest mirror).")
@config_option
def cluster_start(nodes, shards, config_path):
    """Start NODES searchd processes on 127.0.0.1 and record them as the node list."""
    local = _local_cluster()

    try:
        spec = local.start(_cluster_dir(config_path), nodes, min(shards, nodes))
    except local.ClusterError as e:
        raise click.ClickException(str(e)) from None
    for node in spec.nodes:
        click.echo(f"{node.name}: 127.0.0.1:{node.sql_port} shards {node.shards}")
    click.echo("now: unionsearch index --backend sphinx  (or set backend: sphinx in config.yaml)")


@cluster.command("stop")
@config_option
def cluster_stop(config_path):
    """Stop the local searchd processes."""
    local = _local_cluster()

    try:
        stopped = local.stop(_cluster_dir(config_path))
    except local.ClusterError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"stopped {len(stopped)} nodes" + (f": {', '.join(stopped)}" if stopped else ""))


@cluster.command("status")
@config_option
def cluster_status(config_path):
    """Each node: address, shards, whether it answers, rows per index."""
    local = _local_cluster()

    config = _config(config_path)
    try:
        rows = local.status(local.ClusterSpec.load(config.path(config.sphinx.nodes_file)))
    except local.ClusterError as e:
        raise click.ClickException(str(e)) from None
    for row in rows:
        state = "up" if row["up"] else "DOWN"
        click.echo(f"{row['node']}: {row['host']}:{row['sql_port']} shards {row['shards']} {state} {row['indexes']}")


def main():
    cli(prog_name="unionsearch")


if __name__ == "__main__":
    main()
