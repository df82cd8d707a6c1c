from datetime import datetime

import pytest

from devtools.host.ncrontab import ScheduleError, next_occurrences, parse_schedule

START = datetime(2024, 1, 1, 10, 0, 0)  # a Monday


def at(*args):
    return datetime(*args)


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("0 0 */6 * * *", [at(2024, 1, 1, 12), at(2024, 1, 1, 18), at(2024, 1, 2, 0)]),
        ("*/15 * * * * *", [at(2024, 1, 1, 10, 0, 15), at(2024, 1, 1, 10, 0, 30), at(2024, 1, 1, 10, 0, 45)]),
        ("* * * * * *", [at(2024, 1, 1, 10, 0, 1), at(2024, 1, 1, 10, 0, 2), at(2024, 1, 1, 10, 0, 3)]),
        ("0 30 9 * * 1-5", [at(2024, 1, 2, 9, 30), at(2024, 1, 3, 9, 30), at(2024, 1, 4, 9, 30)]),
        ("0 30 9 * * Mon-Fri", [at(2024, 1, 2, 9, 30), at(2024, 1, 3, 9, 30), at(2024, 1, 4, 9, 30)]),
        ("0 0 12 * * 0,6", [at(2024, 1, 6, 12), at(2024, 1, 7, 12), at(2024, 1, 13, 12)]),
        ("0 5-20/5 10 * * *", [at(2024, 1, 1, 10, 5), at(2024, 1, 1, 10, 10), at(2024, 1, 1, 10, 15)]),
        ("10/20 0 11 * * *", [at(2024, 1, 1, 11, 0, 10), at(2024, 1, 1, 11, 0, 30), at(2024, 1, 1, 11, 0, 50)]),
        ("0 0 0 29 2 *", [at(2024, 2, 29), at(2028, 2, 29), at(2032, 2, 29)]),
        ("0 0 0 31 * *", [at(2024, 1, 31), at(2024, 3, 31), at(2024, 5, 31)]),
        ("0 0 0 1 Jan,Jul *", [at(2024, 7, 1), at(2025, 1, 1), at(2025, 7, 1)]),
        ("0 0 0 13 * 5", [at(2024, 9, 13), at(2024, 12, 13), at(2025, 6, 13)]),  # Friday the 13th
        ("30 9 * * *", [at(2024, 1, 2, 9, 30), at(2024, 1, 3, 9, 30), at(2024, 1, 4, 9, 30)]),
        ("00:00:05", [at(2024, 1, 1, 10, 0, 5), at(2024, 1, 1, 10, 0, 10), at(2024, 1, 1, 10, 0, 15)]),
        ("1.00:00:00", [at(2024, 1, 2, 10), at(2024, 1, 3, 10), at(2024, 1, 4, 10)]),
    ],
)
def test_next_occurrences(expr, expected):
    assert next_occurrences(expr, START, 3) == expected


def test_next_is_strictly_after_and_ignores_microseconds():
    sched = parse_schedule("0 0 * * * *")
    assert sched.next_after(at(2024, 1, 1, 10)) == at(2024, 1, 1, 11)
    assert sched.next_after(datetime(2024, 1, 1, 10, 59, 59, 999999)) == at(2024, 1, 1, 11)


def test_year_end_rollover():
    assert next_occurrences("0 0 0 * * *", at(2024, 12, 31, 23, 59, 59), 1) == [at(2025, 1, 1)]


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "* * * *",
        "* * * * * * *",
        "60 * * * * *",
        "* * 24 * * *",
        "* * * 0 * *",
        "* * * * 13 *",
        "* * * * * 7",
        "*/0 * * * * *",
        "5-1 * * * * *",
        "a * * * * *",
        "* * * * Foo *",
        "0 0 0 30 2 *",
        "1,,2 * * * * *",
        "25:00:00",
        "00:00:00",
    ],
)
def test_invalid(expr):
    with pytest.raises(ScheduleError):
        parse_schedule(expr)
