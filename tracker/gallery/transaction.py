"""One write transaction per gallery change, over a fresh in-memory copy (copy.py's module note)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from ..errors import GalleryError
from .store import Store, StoreError

F = TypeVar("F", bound=Callable[..., Any])


class _Transactional(Protocol):
    _store: Store
    _txn_depth: int
    _seen_seq: int
    _seen_version: int
    _lock: Any
    where: str

    def _ensure_store(self) -> Store: ...

    def _reload_if_stale(self) -> None: ...

    def _load(self) -> None: ...


def transaction(method: F) -> F:
    """Run a gallery method as one write transaction over a fresh in-memory copy (see the module
    note); nested calls join the outer transaction."""

    @functools.wraps(method)
    def wrapper(self: _Transactional, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._txn_depth:
                self._txn_depth += 1
                try:
                    return method(self, *args, **kwargs)
                finally:
                    self._txn_depth -= 1
            try:
                store = self._ensure_store()
                try:
                    store.begin_write()
                except StoreError:
                    if store.is_open:
                        raise
                    # The connection to a database server was lost while idle (a server restart):
                    # nothing was sent yet, so connect again, read everything again, and go on.
                    store = self._ensure_store()
                    store.begin_write()
            except StoreError as exc:
                raise GalleryError(f"cannot write gallery {self.where}: {exc.reason}") from None
            self._txn_depth = 1
            try:
                self._reload_if_stale()
                result = method(self, *args, **kwargs)
                # Ours, under the write lock: nobody else's change lies between the copy and these.
                self._seen_seq, self._seen_version = store.last_change(), store.version()
                store.commit()
            except BaseException as exc:
                self._txn_depth = 0
                try:
                    store.rollback()
                    if store.durable:  # (in memory the copy is the gallery: nothing to read back)
                        self._load()  # the copy may hold part of what was rolled back
                except GalleryError:
                    # The store is gone (a lost connection) or unreadable: the copy is marked
                    # stale below, so the next call reads it again; the first error is the one said.
                    self._seen_version = self._seen_seq = -1
                if isinstance(exc, StoreError):
                    raise GalleryError(f"cannot write gallery {self.where}: {exc.reason}") from None
                raise
            finally:
                self._txn_depth = 0
            return result

    return cast(F, wrapper)
