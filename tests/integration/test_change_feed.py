"""The change feed on Azurite: gap-free order under concurrent writers, exactly-once appends,
retention, and what a reader that follows `next` sees while changes are being written."""

import threading
import time
from datetime import timedelta

import pytest

from shared.models import Change, ChangeType, utcnow
from shared.storage import changes as feed_table
from shared.storage.changes import Changes
from tests.conftest import new_id

pytestmark = pytest.mark.integration


def change(company: str, n: int | str) -> Change:
    return Change(
        id=f"{company}-{n}",
        company_id=company,
        type=ChangeType.EVENT_UPDATED,
        occurred_at=utcnow(),
        schedule_id=f"s-{n}",
        fields=("start",),
    )


def test_append_numbers_in_order_and_refuses_a_change_twice(storage):
    company = new_id("co")
    repo = Changes()
    assert [repo.append(change(company, n)) for n in range(3)] == [1, 2, 3]
    assert repo.append(change(company, 1)) == 2  # a retried append: stored once, its number answered
    rows = repo.read(company, None, 100, utcnow() - timedelta(days=30))
    assert [(c.seq, c.id) for c in rows] == [(1, f"{company}-0"), (2, f"{company}-1"), (3, f"{company}-2")]
    assert repo.read(company, 2, 100, utcnow() - timedelta(days=30))[0].id == f"{company}-2"
    assert repo.read(new_id("other"), None, 100, utcnow() - timedelta(days=30)) == []


def test_a_reader_following_next_sees_every_change_exactly_once_in_order_while_writers_race(storage):
    """Six writers append 40 changes each, concurrently, while a reader follows the cursor in
    pages of 7. The reader must see all 240, each once, in sequence order, with no gap."""
    company = new_id("co")
    writers, per_writer = 6, 40
    done = threading.Event()
    seen: list[Change] = []
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for n in range(per_writer):
                Changes().append(change(company, f"{w}-{n}"))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def read() -> None:
        cursor = None
        since = utcnow() - timedelta(days=30)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            page = Changes().read(company, cursor, 7, since)
            seen.extend(page)
            if page:
                cursor = page[-1].seq
            elif done.is_set() and cursor == writers * per_writer:
                return
            else:
                time.sleep(0.02)  # caught up with the writers: not a busy loop against Azurite

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert errors == []
    assert [c.seq for c in seen] == list(range(1, writers * per_writer + 1))
    assert len({c.id for c in seen}) == writers * per_writer


def test_a_row_committed_late_is_not_skipped(storage, monkeypatch):
    """A reader whose page shows row N+1 but not N (N's transaction still committing) stops
    before the gap; the next read returns N, then N+1."""
    company = new_id("co")
    repo = Changes()
    for n in range(3):
        repo.append(change(company, n))
    real_query = feed_table.base.query

    def query_missing_row_2(*args, **kwargs):
        return [e for e in real_query(*args, **kwargs) if e["RowKey"] != feed_table.row_key(2)]

    monkeypatch.setattr(feed_table.base, "query", query_missing_row_2)
    since = utcnow() - timedelta(days=30)
    assert [c.seq for c in repo.read(company, None, 10, since)] == [1]  # stops before the gap
    assert [c.seq for c in repo.read(company, 1, 10, since)] == []  # row 2 is there: wait for it
    monkeypatch.setattr(feed_table.base, "query", real_query)
    assert [c.seq for c in repo.read(company, 1, 10, since)] == [2, 3]


def test_rows_past_retention_or_purged_are_stepped_over(storage):
    company = new_id("co")
    repo = Changes()
    for n in range(4):
        repo.append(change(company, n))
    since = utcnow() + timedelta(seconds=5)  # every row is "older than the retention"
    assert repo.read(company, None, 10, since) == []
    assert repo.read(company, 2, 10, since) == []  # a reader inside the expired range is not stuck either
    repo.append(change(company, 4))
    table = feed_table.table(feed_table.TABLE)
    for seq in (1, 2):
        table.delete_entity(feed_table.escape_key(company), feed_table.row_key(seq))
    assert [c.seq for c in repo.read(company, None, 10, utcnow() - timedelta(days=30))] == [3, 4, 5]
    assert [c.seq for c in repo.read(company, 1, 10, utcnow() - timedelta(days=30))] == [3, 4, 5]
