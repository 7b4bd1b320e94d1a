"""``python -m indexer.clean PAGE [--json]``: clean one saved page and print the result.

Exit status 0 on success; 1 with a one-line ``Error: …`` on stderr when the page cannot be loaded
or has no document text.
"""

from __future__ import annotations

import argparse
import json
import sys

from indexer.clean import CleanError, clean_page
from indexer.config import CleanSettings
from indexer.load import LoadError, load_page


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m indexer.clean", description=__doc__.splitlines()[0])
    ap.add_argument("page", help="a saved page (.html/.htm/.mhtml/.txt)")
    ap.add_argument("--json", action="store_true", help="print the CleanedPage as JSON")
    ap.add_argument("--max-bytes", type=int, default=CleanSettings().max_file_bytes)
    a = ap.parse_args(argv)
    try:
        page = load_page(a.page, max_bytes=a.max_bytes)
        cp = clean_page(page)
    except (LoadError, CleanError) as e:
        print(f"Error: {a.page}: {e} ({e.reason})", file=sys.stderr)
        return 1
    out = json.dumps(cp.to_json(), ensure_ascii=False, indent=1) if a.json else cp.to_text()
    sys.stdout.buffer.write(out.encode("utf-8") + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
