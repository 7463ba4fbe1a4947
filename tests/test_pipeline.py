"""The read pipeline: catalog answers fetched on a worker thread, taken in as they come."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from sync_schema.read import _Prefetched


def test_items_arrive_in_order_and_are_produced_on_the_worker() -> None:
    threads: list[str] = []

    def produce() -> Iterator[int]:
        for i in range(5):
            threads.append(threading.current_thread().name)
            yield i

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch") as pool:
        assert list(_Prefetched(pool, produce())) == [0, 1, 2, 3, 4]
    assert threads and all(name.startswith("fetch") for name in threads)


def test_an_error_on_the_worker_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def produce() -> Iterator[str]:
        yield "overview"
        raise ValueError("the server went away")

    with ThreadPoolExecutor(max_workers=1) as pool:
        items = _Prefetched(pool, produce())
        assert next(items) == "overview"
        with pytest.raises(ValueError, match="went away"):
            next(items)
