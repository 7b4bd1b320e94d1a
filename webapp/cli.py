"""`unionsearch serve`: added to the indexer's command group here, so `indexer` never imports `webapp`.
Flask and waitress are imported when `serve` runs (see indexer/cli.py: other commands start without them)."""

from __future__ import annotations

import sys

import click

from indexer.cli import _config, _store, cli, config_option, index_option


@cli.command()
@click.option("--host", help="Interface to listen on (default from config: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default from config: 8000).")
@click.option("--threads", type=click.IntRange(1, 256), help="Worker threads (per process).")
@click.option("--processes", type=click.IntRange(0, 64),
              help="Server processes sharing the port (default 0: one per core).")
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Allow this origin (e.g. http://intranet.example) to call the JSON API from a browser; "
                   "repeatable, replaces server.cors_origins. '*' allows any.")
@click.option("--frame-ancestor", "frame_ancestors", multiple=True,
              help="Allow this origin to show /embed in an iframe; repeatable, replaces server.frame_ancestors.")
@click.option("--get", "get_path", help="Run one request through the app, print the body and exit (smoke test).")
@index_option
@config_option
def serve(host, port, threads, processes, cors_origins, frame_ancestors, get_path, index_dir, config_path):
    """Serve the search site, the JSON API and the widget with waitress."""
    from webapp import create_app
    from webapp.server import serve as run_server

    given = dict(host=host, port=port, threads=threads, processes=processes)
    server = {k: v for k, v in given.items() if v is not None}
    if cors_origins:
        server["cors_origins"] = list(cors_origins)
    if frame_ancestors:
        server["frame_ancestors"] = list(frame_ancestors)
    config = _config(config_path, index_dir=index_dir, server=server or None)
    _store(config)
    app = create_app(config)
    if get_path:
        response = app.test_client().get(get_path)
        click.echo(response.get_data(as_text=True))
        sys.exit(0 if response.status_code == 200 else 1)
    s = config.server
    procs = f"{s.process_count} processes × " if s.process_count > 1 else ""
    click.echo(f"serving http://{s.host}:{s.port}/ with {procs}{s.threads} threads  (Ctrl+C to stop)")
    if s.cors_origins:
        click.echo(f"JSON API open to: {', '.join(s.cors_origins)}")
    try:
        run_server(app, config, echo=click.echo)
    except OSError as e:
        raise click.ClickException(f"cannot listen on {s.host}:{s.port}: {e.strerror or e}") from None


def main():
    cli(prog_name="unionsearch")


if __name__ == "__main__":
    main()
