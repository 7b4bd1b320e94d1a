"""A thread-safe LRU bounded by a budget: bytes for the Whoosh backend's posting lists and columns
(backends/whoosh/arrays.py), answers for search()'s result cache (each entry of size 1)."""

from __future__ import annotations

import threading
from collections import OrderedDict


class LRU:
    def __init__(self, budget: int):
        self.budget, self.used = budget, 0
        self._items: OrderedDict = OrderedDict()  # key → (value, size)
        self._lock = threading.Lock()

    def get(self, key):
        """The value, or None."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key, value, size: int = 1) -> None:
        """Keep ``value``, dropping the least recently used entries beyond the budget (a value larger than the
        whole budget is not kept)."""
        with self._lock:
            if size > self.budget:
                return
            old = self._items.pop(key, None)
            if old is not None:
                self.used -= old[1]
            self._items[key] = (value, size)
            self.used += size
            while self.used > self.budget:
                _, (_, freed) = self._items.popitem(last=False)
                self.used -= freed

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0
