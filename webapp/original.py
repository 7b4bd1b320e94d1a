"""/doc/<id>/original: the Word, WPS, RTF or PDF file a document was read from, as a download.

The file is found from the document id alone: the id is looked up in the index, whose records name their file
relative to the corpus folder, and that folder comes from the settings (``source_dir``). Nothing in the request
becomes part of a path, and a file that resolves outside the corpus folder (a symbolic link) is not served. Saved web
pages and text files are not served (their page links to the address they were saved from); a file that is no longer
on disk is a 404 with a message, never a 500.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from flask import Blueprint, Response, send_file, url_for
from werkzeug.exceptions import NotFound

from indexer.model import SectionRecord
from webapp.store import get_config
from webapp.views import get_document

bp = Blueprint("original", __name__)

# The types of file whose documents link to their original (indexer/office.py reads them).
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".wps": "application/vnd.ms-works",
    ".rtf": "application/rtf",
}
_UNSAFE_IN_FILENAME = re.compile(r'[^A-Za-z0-9._ ()\[\]-]')


def has_original(record: SectionRecord) -> bool:
    return PurePosixPath(record.source).suffix.lower() in MEDIA_TYPES


def original_url(record: SectionRecord) -> str | None:
    """The link to the record's original file, or None for a saved web page or text file (for the templates)."""
    return url_for("original.original_file", doc_id=record.doc_id) if has_original(record) else None


def content_disposition(name: str, doc_id: str) -> str:
    """``attachment`` with the file's own name in ``filename*`` (RFC 5987/6266, UTF-8, so that 工作总结.docx keeps its
    Chinese name) and an ASCII ``filename`` for old clients: the name itself when it is plain ASCII, else the
    document id with the file's suffix."""
    suffix = PurePosixPath(name).suffix.lower()
    fallback = name if not _UNSAFE_IN_FILENAME.search(name) else f"{doc_id}{suffix}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _open_in_corpus(source: str) -> tuple[int, os.stat_result]:
    """An open descriptor on the corpus file ``source`` (a path the index recorded) and its stat. NotFound when it
    is gone, unreadable, not a regular file, or resolves outside the corpus folder."""
    root = get_config().source_path.resolve()
    gone = NotFound(description=f"原始文件已不在服务器上：{PurePosixPath(source).name}")
    try:
        path = (root / source).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symbolic-link loop
        raise gone from None
    if not path.is_relative_to(root):
        raise gone
    try:
        # Non-blocking open: a FIFO put where the file was must not hang the request; checked below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        raise gone from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise gone
    return fd, st


@bp.route("/doc/<doc_id>/original")
def original_file(doc_id: str) -> Response:
    """The file document ``doc_id`` came from, as a download with its own (Chinese) name."""
    first = get_document(doc_id)[0]
    name = PurePosixPath(first.source).name
    if not has_original(first):
        raise NotFound(description=f"此文档来自网页或文本文件，没有可下载的原始文件：{name}")
    fd, st = _open_in_corpus(first.source)
    response = send_file(os.fdopen(fd, "rb"), mimetype=MEDIA_TYPES[Path(name).suffix.lower()], as_attachment=True,
                         download_name=name, conditional=True, etag=f"{st.st_size:x}-{st.st_mtime_ns:x}",
                         last_modified=st.st_mtime, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(name, first.doc_id)
    return response


@bp.app_context_processor
def template_globals() -> dict:
    return {"original_url": original_url}
