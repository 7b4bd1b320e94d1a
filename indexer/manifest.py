"""What the index was built from: one entry per saved page (size, mtime, content hash, what it gave) and the
settings fingerprint. Comparing it with the source folder decides what an incremental run must do.

Engine-neutral: the manifest is JSON text that the store keeps inside the live generation, so it always
describes the index it sits beside (a full build writes it before the flip, an update right after its commit).
"""

from __future__ import annotations

import ast
import errno
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from indexer import jsonio
from indexer.analysis import TOKENIZER
from indexer.config import Config
from indexer.load import FILE_TYPES, PAGE_SUFFIXES, file_type

MANIFEST_FILE = "MANIFEST.json"
MANIFEST_VERSION = 1


@dataclass
class Entry:
    size: int
    mtime_ns: int
    sha: str  # sha1 of the file's bytes
    sections: int = 0
    documents: int = 0
    duplicates: int = 0
    error: str | None = None  # "reason: message" when the page was skipped
    replaced: int = 0  # characters its bytes could not give (decoded with replacement characters)


@dataclass
class Manifest:
    fingerprint: str
    entries: dict[str, Entry] = field(default_factory=dict)  # by source (path relative to the corpus root)
    built: str = ""  # ISO time of the last full build
    updated: str = ""  # ISO time of the last run that changed the index
    last_report: dict = field(default_factory=dict)

    def to_json(self) -> str:
        data = {"version": MANIFEST_VERSION, "fingerprint": self.fingerprint, "built": self.built,
                "updated": self.updated, "last_report": self.last_report,
                "entries": {k: dict(vars(v)) for k, v in sorted(self.entries.items())}}
        return jsonio.dumps(data)

    @classmethod
    def from_json(cls, text: str | None) -> Manifest | None:
        """The manifest in ``text``; None when missing, unreadable or of another version."""
        if not text:
            return None
        try:
            data = jsonio.loads(text)
            if data.get("version") != MANIFEST_VERSION:
                return None
            entries = {k: Entry(**v) for k, v in data["entries"].items()}
            return cls(data["fingerprint"], entries, data.get("built", ""), data.get("updated", ""),
                       data.get("last_report", {}))
        except (ValueError, KeyError, TypeError):
            return None


def pages_by_type(manifest: Manifest | None) -> dict[str, dict[str, int]]:
    """Pages indexed and pages skipped per file type (html, mhtml, text, docx, doc, wps, pdf, rtf), from what the
    manifest recorded for each page; every type is listed, with 0 when the folder has none."""
    types = list(dict.fromkeys(FILE_TYPES.values()))
    out: dict[str, dict[str, int]] = {"indexed": dict.fromkeys(types, 0), "skipped": dict.fromkeys(types, 0)}
    for source, entry in (manifest.entries.items() if manifest else ()):
        counts = out["skipped" if entry.error else "indexed"]
        kind = file_type(source)
        counts[kind] = counts.get(kind, 0) + 1
    return out


@dataclass(frozen=True)
class Stat:
    size: int
    mtime_ns: int


@dataclass
class Plan:
    """What an indexing run has to do. ``full`` means rebuild everything (``reason`` says why)."""

    full: bool
    reason: str = ""
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old, new): reindexed under the new name
    touched: dict[str, Stat] = field(default_factory=dict)  # same bytes, new mtime: only the manifest changes
    hashes: dict[str, str] = field(default_factory=dict)  # sha computed while planning

    @property
    def to_index(self) -> list[str]:
        return self.new + self.changed

    @property
    def to_delete(self) -> list[str]:
        """Sources whose old sections go: changed and deleted pages (and new ones, in case an interrupted
        run had already added them; deleting what is not there costs nothing)."""
        return self.changed + self.deleted + self.new

    def nothing_to_do(self) -> bool:
        return not (self.full or self.new or self.changed or self.deleted)


def file_sha(path: str | Path) -> str:
    """SHA-1 of a regular file. A FIFO or device named like a page raises OSError instead of blocking:
    it is opened non-blocking and checked before anything is read."""
    h = hashlib.sha1()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scan_folder(root: Path) -> dict[str, Stat]:
    """Every page under ``root`` (the files indexer.load.iter_pages gives: hidden files and folders skipped,
    symbolic links to folders not followed) with its size and mtime, keyed by source (posix path relative to
    ``root``, as load_page names it). One walk with os.scandir, no Path object per file: at 100,000 pages that
    saves about a second of every update."""
    out: dict[str, Stat] = {}

    def walk(folder: str, prefix: str) -> None:
        try:
            with os.scandir(folder) as found:
                entries = list(found)  # no order needed: the plan sorts the sources
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not entry.is_symlink():
                    walk(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.lower().endswith(PAGE_SUFFIXES):  # page_kind(name) is not None, in one C call
                try:
                    st = entry.stat()
                except OSError:
                    continue
                out[prefix + entry.name] = Stat(st.st_size, st.st_mtime_ns)

    walk(str(root), "")
    return out


def plan(old: Manifest | None, current: dict[str, Stat], fingerprint: str, root: Path, full: bool = False,
         hasher: Callable[[Path], str] = file_sha) -> Plan:
    """Compare the manifest with the folder. A page whose size and mtime match is taken as unchanged; a page
    whose stat changed is hashed, and only a different hash makes it "changed"."""
    if full:
        return Plan(True, "asked for a full rebuild", new=sorted(current))
    if old is None:
        return Plan(True, "no manifest beside the index", new=sorted(current))
    if old.fingerprint != fingerprint:
        return Plan(True, "analyser or cleaner settings changed", new=sorted(current))
    p = Plan(False)
    for source in sorted(current):
        st = current[source]
        entry = old.entries.get(source)
        if entry is None:
            p.new.append(source)
            continue
        if entry.size == st.size and entry.mtime_ns == st.mtime_ns:
            p.unchanged.append(source)
            continue
        sha = hasher(root / source)
        p.hashes[source] = sha
        if sha == entry.sha:
            p.unchanged.append(source)
            p.touched[source] = st
        else:
            p.changed.append(source)
    p.deleted = sorted(set(old.entries) - set(current))
    if p.deleted and p.new:
        gone = {old.entries[s].sha: s for s in p.deleted}
        for source in p.new:
            sha = p.hashes.get(source) or hasher(root / source)
            p.hashes[source] = sha
            if sha in gone:
                p.renamed.append((gone.pop(sha), source))
    return p


def fingerprint(parts: dict) -> str:
    """A short stable hash of the settings and code versions an index depends on."""
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()[:16]


def files_digest(paths: list[Path]) -> str:
    """Hash of the contents of ``paths`` (missing files count as empty)."""
    h = hashlib.sha1()
    for p in paths:
        h.update(str(Path(p).name).encode())
        try:
            h.update(Path(p).read_bytes())
        except OSError:
            h.update(b"-")
    return h.hexdigest()[:16]


# ---- what an index depends on ---------------------------------------------------------------------------------

RECORDS_VERSION = 1  # bump when records.section_records() or the org/year inference changes what is indexed
_PKG = Path(__file__).parent


def settings_fingerprint(config: Config, format_version: str) -> str:
    """Hash of everything that changes what a page turns into in the index: analyser settings and
    dictionaries, stopwords, cleaner settings and code, loader (office files too) and analyser code, the backend's
    index format."""
    code = sorted((_PKG / "clean").glob("*.py")) + [_PKG / "load.py", _PKG / "office.py", _PKG / "analysis.py"]
    user_dict = config.path(config.analysis.user_dict) if config.analysis.user_dict else None
    return fingerprint({
        "format": format_version,
        "tokenizer": TOKENIZER,  # jieba or the jieba_fast kernel: the same words on our pages, not in every tie
        "records": RECORDS_VERSION,
        "analysis": asdict(config.analysis),
        "user_dict": files_digest([user_dict]) if user_dict else "",
        "bundled_data": files_digest(sorted((_PKG / "data").glob("*.txt"))),
        "clean": asdict(config.clean),
        "code": code_digest(code, config.cache_path / CODE_DIGESTS_FILE),
        "clean_data": files_digest(sorted((_PKG / "clean").glob("*.txt"))),
    })


CODE_DIGESTS_FILE = "code-digests.json"  # in the cache folder


def code_digest(paths: list[Path], cache: Path | None = None) -> str:
    """Hash of Python modules' code, ignoring comments, docstrings and formatting (an edit of the docs
    does not force a full rebuild; a change of logic does). The hash is kept in ``cache`` (a JSON file) by the
    hash of the modules' bytes: parsing the cleaner's modules took 0.3 s of every update."""
    raw = hashlib.sha1()
    for p in paths:
        try:
            raw.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        except OSError:
            raw.update(p.name.encode() + b"\0-\0")
    key = raw.hexdigest()
    known: dict = {}
    if cache is not None:
        try:
            known = dict(json.loads(cache.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            known = {}
    found = known.get(key)
    if isinstance(found, str):
        return found
    digest = _parsed_digest(paths)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps({key: digest}), encoding="utf-8")
            os.replace(partial, cache)
        except OSError:
            pass  # a cache: the next run parses again
    return digest


def _parsed_digest(paths: list[Path]) -> str:
    h = hashlib.sha1()
    for p in paths:
        try:
            tree = ast.parse(p.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            h.update(b"-")
            continue
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
                setattr(node, "body", body[1:] or [ast.Pass()])  # noqa: B010 - any node with a body
        h.update(p.name.encode() + ast.dump(tree).encode())
    return h.hexdigest()[:16]
