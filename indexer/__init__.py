"""unionsearch indexer: saved page → load → clean → analyse → index → search.

Every step is a module with a small typed interface (see ``indexer.model``).
``indexer`` never imports ``webapp``; only ``indexer.backends.whoosh`` imports Whoosh and only
``indexer.backends.sphinx`` talks to searchd (see docs/architecture.md).
"""

import os

# numpy's BLAS would start a thread per core for the small matrix product in collapse; a server already runs
# one request per thread or process, so those threads only take cores from other requests (measured: CPU per
# query 38 ms with them, 17 ms without). Set before numpy is first imported; an explicit setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
