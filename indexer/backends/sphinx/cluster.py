"""A local Sphinx/Manticore cluster for development and tests: searchd configs, start, stop, status.

``start(var_dir, nodes=3, shards=2)`` writes one searchd config per node under ``var_dir/<node>/``, starts the
nodes on free 127.0.0.1 ports and records them in ``var_dir/nodes.json`` — the node list the sphinx backend
reads (``sphinx.nodes_file``). Node i < shards holds shard i; each further node mirrors shard
(i - shards) % shards; a single node holds every shard. Every node declares the distributed indexes
(``<prefix>_a`` / ``<prefix>_b``, one per generation): its own shards as ``local``, the others as ``agent``
lines listing every mirror (``agent = host:port|host:port:index``), so any node can answer a query.

Only processes this module started are stopped, by the pid in their pid file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pymysql

NODES_FILE = "nodes.json"
GENERATIONS = ("a", "b")
CHARSET_TABLE = "0..9, A..Z->a..z, a..z, U+3400..U+9FFF, U+F900..U+FAFF"
# Full-text fields, in order: our analyser's words (w_*), the sub-words it stacks on them (s_*), the bigram
# fallback, and a marker every row has (lets a query with only exclusions and filters say "everything").
TEXT_FIELDS = ("w_title", "w_doc", "w_head", "w_text", "s_title", "s_doc", "s_head", "s_text", "bigrams", "marker")
STRING_ATTRS = ("sid", "doc_id", "source", "page_title", "document", "heading", "heading_path", "text", "url",
                "date", "site", "org_type", "duplicate_of")
UINT_ATTRS = ("doc_index", "section_index", "year")
MVA64_ATTRS = ("site_keys",)


class ClusterError(Exception):
    """The local cluster cannot be started, stopped or read; the message says why and what to do."""


@dataclass
class Node:
    name: str
    host: str
    sql_port: int  # SphinxQL (MySQL protocol): what the store talks to
    api_port: int  # Sphinx API protocol: what agents of distributed indexes talk to
    shards: list[int]
    dir: str = ""  # config, pid file, logs and data (local cluster only)

    @property
    def config_path(self) -> Path:
        return Path(self.dir) / "searchd.conf"

    @property
    def pid_file(self) -> Path:
        return Path(self.dir) / "searchd.pid"


@dataclass
class ClusterSpec:
    shards: int
    nodes: list[Node]
    prefix: str = "us"
    connect_timeout_ms: int = 1000  # agent_connect_timeout: a dead node costs this much, once (a busy live
    # mirror must still make it: 300 ms failed under load)
    query_timeout_ms: int = 3000  # agent_query_timeout: a hung node costs this much
    rt_mem_limit: str = "256M"
    extra: dict = field(default_factory=dict)

    def replicas(self, shard: int) -> list[Node]:
        return [n for n in self.nodes if shard in n.shards]

    def shard_index(self, gen: str, shard: int) -> str:
        return f"{self.prefix}_{gen}_s{shard}"

    def dist_index(self, gen: str) -> str:
        return f"{self.prefix}_{gen}"

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise ClusterError(f"no node {name!r} in the node list")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_dict(cls, data: dict) -> ClusterSpec:
        nodes = [Node(**{**n, "shards": list(n["shards"])}) for n in data["nodes"]]
        spec = cls(**{**data, "nodes": nodes})
        missing = [s for s in range(spec.shards) if not spec.replicas(s)]
        if missing or not nodes:
            raise ClusterError(f"the node list holds no copy of shard(s) {missing or 'any'}")
        return spec

    @classmethod
    def load(cls, path: str | Path) -> ClusterSpec:
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ClusterError(f"no node list at {path}; run `unionsearch cluster start`") from None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ClusterError(f"cannot read the node list {path}: {e}") from None


def layout(nodes: int, shards: int) -> list[list[int]]:
    """Shards held by each node: one primary per shard first, then mirrors round-robin."""
    if nodes < 1 or shards < 1:
        raise ClusterError("a cluster needs at least one node and one shard")
    if nodes < shards:
        out: list[list[int]] = [[] for _ in range(nodes)]
        for s in range(shards):
            out[s % nodes].append(s)
        return out
    return [[i] if i < shards else [(i - shards) % shards] for i in range(nodes)]


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def searchd_config(spec: ClusterSpec, node: Node) -> str:
    """The searchd.conf of one node (Sphinx 2.2 and Manticore both read it)."""
    data = Path(node.dir) / "data"
    out = []
    for gen in GENERATIONS:
        for shard in node.shards:
            name = spec.shard_index(gen, shard)
            lines = ["type = rt", f"path = {data / name}"]
            lines += [f"rt_field = {f}" for f in TEXT_FIELDS]
            lines += [f"rt_attr_string = {a}" for a in STRING_ATTRS]
            lines += [f"rt_attr_uint = {a}" for a in UINT_ATTRS]
            lines += [f"rt_attr_multi_64 = {a}" for a in MVA64_ATTRS]
            lines += [f"charset_table = {CHARSET_TABLE}", "min_word_len = 1", "index_field_lengths = 1",
                      "dict = keywords", f"rt_mem_limit = {spec.rt_mem_limit}"]
            out.append(_block(f"index {name}", lines))
        lines = ["type = distributed"]
        for shard in range(spec.shards):
            if shard in node.shards:
                lines.append(f"local = {spec.shard_index(gen, shard)}")
            else:
                mirrors = "|".join(f"{n.host}:{n.api_port}" for n in spec.replicas(shard))
                lines.append(f"agent = {mirrors}:{spec.shard_index(gen, shard)}")
        # nodeads: a mirror that just failed is not picked again for the retry (random could pick the dead
        # one on every try: a 1-in-8 flake with two mirrors and two retries).
        lines += [f"agent_connect_timeout = {spec.connect_timeout_ms}",
                  f"agent_query_timeout = {spec.query_timeout_ms}", "ha_strategy = nodeads"]
        out.append(_block(f"index {spec.dist_index(gen)}", lines))
    out.append(_block("searchd", [
        f"listen = {node.host}:{node.api_port}",
        f"listen = {node.host}:{node.sql_port}:mysql41",
        f"log = {Path(node.dir) / 'searchd.log'}",
        f"pid_file = {node.pid_file}",
        f"binlog_path = {data}",
        "workers = threads",
        f"dist_threads = {max(1, len(node.shards))}",
        f"agent_retry_count = {max(3, len(spec.nodes))}",  # then another mirror is tried
        "watchdog = 0",  # a killed node stays down (tests kill nodes on purpose)
        "read_timeout = 5",
        "client_timeout = 300",
        "max_packet_size = 32M",
        "listen_backlog = 64",
        "ha_ping_interval = 500",
        "ha_period_karma = 5",
    ]))
    return "\n".join(out)


def _block(head: str, lines: list[str]) -> str:
    return head + "\n{\n" + "".join(f"    {line}\n" for line in lines) + "}\n"


def searchd_binary() -> str | None:
    return shutil.which("searchd") or next((p for p in ("/usr/bin/searchd", "/usr/sbin/searchd")
                                            if os.path.exists(p)), None)


def create(var_dir: str | Path, nodes: int = 3, shards: int = 2, prefix: str = "us", **options) -> ClusterSpec:
    """Write the configs and node list of a new local cluster (nothing started)."""
    var = Path(var_dir).resolve()
    ports = free_ports(2 * nodes)
    spec = ClusterSpec(shards, [], prefix, **options)
    for i, held in enumerate(layout(nodes, shards)):
        spec.nodes.append(Node(f"n{i}", "127.0.0.1", ports[2 * i], ports[2 * i + 1], held, str(var / f"n{i}")))
    for node in spec.nodes:
        (Path(node.dir) / "data").mkdir(parents=True, exist_ok=True)
        node.config_path.write_text(searchd_config(spec, node), encoding="utf-8")
    var.mkdir(parents=True, exist_ok=True)
    tmp = var / f".{NODES_FILE}.tmp"
    tmp.write_text(spec.to_json(), encoding="utf-8")
    os.replace(tmp, var / NODES_FILE)
    return spec


def node_pid(node: Node) -> int | None:
    """The pid of a running searchd started for ``node`` (None if it is not running)."""
    try:
        pid = int(node.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    try:  # a recycled pid is not ours
        if "searchd" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace"):
            return None
    except OSError:
        pass
    return pid


def answers(node: Node, timeout: float = 0.5) -> bool:
    """True when the node accepts a SphinxQL connection and answers SHOW STATUS."""
    try:
        conn = pymysql.connect(host=node.host, port=node.sql_port, connect_timeout=max(1, round(timeout)),
                               read_timeout=timeout)
    except pymysql.MySQLError:
        return False
    with closing(conn):
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW STATUS")
            return True
        except pymysql.MySQLError:
            return False


def start_node(node: Node, wait: float = 15.0) -> int:
    """Start searchd for ``node`` (no-op when running); returns its pid once it answers."""
    pid = node_pid(node)
    if pid is None:
        binary = searchd_binary()
        if binary is None:
            raise ClusterError("searchd not found; install Sphinx (apt-get install sphinxsearch) or Manticore")
        proc = subprocess.run([binary, "--config", str(node.config_path)], capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise ClusterError(f"searchd for node {node.name} did not start: {' / '.join(tail)}")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if answers(node):
            pid = node_pid(node)
            if pid is not None:
                return pid
        time.sleep(0.05)
    raise ClusterError(f"node {node.name} did not answer on {node.host}:{node.sql_port} within {wait:.0f}s; "
                       f"see {Path(node.dir) / 'searchd.log'}")


def stop_node(node: Node, hard: bool = False, wait: float = 15.0) -> bool:
    """Stop the searchd of ``node`` (SIGTERM, or SIGKILL with ``hard``); False if it was not running."""
    pid = node_pid(node)
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL if hard else signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:  # our child only when started in-process; reap it if so
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    else:
        raise ClusterError(f"node {node.name} (pid {pid}) did not stop within {wait:.0f}s")
    if hard:
        node.pid_file.unlink(missing_ok=True)
    return True


def start(var_dir: str | Path, nodes: int = 3, shards: int = 2, **options) -> ClusterSpec:
    """Start the local cluster in ``var_dir``: reuse its node list (and data) when it has ``nodes`` nodes,
    else write a new one. Returns the node list, also saved as ``var_dir/nodes.json``."""
    path = Path(var_dir) / NODES_FILE
    spec = None
    if path.exists():
        spec = ClusterSpec.load(path)
        if len(spec.nodes) != nodes or spec.shards != shards:
            if any(node_pid(n) for n in spec.nodes):
                raise ClusterError(f"a cluster of {len(spec.nodes)} nodes runs in {var_dir}; "
                                   "run `unionsearch cluster stop` first")
            spec = None
    if spec is None:
        spec = create(var_dir, nodes, shards, **options)
    started = []
    try:
        for node in spec.nodes:
            start_node(node)
            started.append(node)
    except BaseException:
        for node in started:
            stop_node(node)
        raise
    return spec


def stop(var_dir: str | Path) -> list[str]:
    """Stop every node of the local cluster in ``var_dir``; returns the names of those that were running."""
    path = Path(var_dir) / NODES_FILE
    if not path.exists():
        return []
    return [n.name for n in ClusterSpec.load(path).nodes if stop_node(n)]


def status(spec: ClusterSpec) -> list[dict]:
    """One row per node: ports, shards, pid (local nodes), whether it answers, rows per shard index."""
    rows = []
    for node in spec.nodes:
        row: dict[str, Any] = {
            "node": node.name, "host": node.host, "sql_port": node.sql_port, "api_port": node.api_port,
            "shards": node.shards, "pid": node_pid(node) if node.dir else None, "up": False, "indexes": {}}
        try:
            conn = pymysql.connect(host=node.host, port=node.sql_port, connect_timeout=1, read_timeout=2)
        except pymysql.MySQLError:
            rows.append(row)
            continue
        with closing(conn), conn.cursor() as cur:
            row["up"] = True
            for gen in GENERATIONS:
                for shard in node.shards:
                    name = spec.shard_index(gen, shard)
                    try:
                        cur.execute(f"SHOW INDEX {name} STATUS")
                        info = dict(cur.fetchall())
                        row["indexes"][name] = int(info.get("indexed_documents", 0))
                    except pymysql.MySQLError as e:
                        row["indexes"][name] = f"error: {e.args[-1]}"
        rows.append(row)
    return rows
