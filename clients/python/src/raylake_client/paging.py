"""Paging iterators: walk a list the API answers a page at a time, until its ``total`` is reached."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from raylake_client.models import Page

T = TypeVar("T")


def iterate(fetch: Callable[[int, int], Page[T]], page_size: int = 100) -> Iterator[T]:
    """Every item of a list: ``fetch(offset, limit)`` gives one page; stops at ``total`` or an empty page."""
    offset = 0
    while True:
        page = fetch(offset, page_size)
        yield from page.items
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return
