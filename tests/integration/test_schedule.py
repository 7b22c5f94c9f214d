"""Cut-off and delivery days in the supplier's timezone (pure: no database needed)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from chat2order.ordering.schedule import Schedule, can_still_edit, plan_delivery

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
WEEKDAYS = (1, 2, 3, 4, 5, 6)  # Monday..Saturday


def schedule(tz: str = "America/New_York", cutoff: dt.time = dt.time(23, 0), days=WEEKDAYS) -> Schedule:
    return Schedule(timezone=tz, cutoff_time=cutoff, delivery_weekdays=tuple(days))


def test_order_before_cutoff_is_delivered_next_day() -> None:
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 24, 21, 30, tzinfo=NY), None)  # Tuesday evening
    assert plan.delivery_date == dt.date(2026, 11, 25)
    assert not plan.after_cutoff and not plan.moved


def test_order_after_cutoff_skips_a_day() -> None:
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 24, 23, 15, tzinfo=NY), None)
    assert plan.delivery_date == dt.date(2026, 11, 26)
    assert plan.after_cutoff


def test_requested_tomorrow_after_cutoff_is_moved_and_says_why() -> None:
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 24, 23, 15, tzinfo=NY), dt.date(2026, 11, 25))
    assert plan.delivery_date == dt.date(2026, 11, 26)
    assert plan.moved and plan.reason == "cutoff"
    assert plan.requested == dt.date(2026, 11, 25)


def test_requested_day_without_delivery_moves_to_next_delivery_day() -> None:
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 26, 20, 0, tzinfo=NY), dt.date(2026, 11, 29))  # Sunday
    assert plan.delivery_date == dt.date(2026, 11, 30)
    assert plan.reason == "no_delivery_day"


def test_saturday_evening_order_waits_for_monday_when_no_sunday_delivery() -> None:
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 28, 21, 0, tzinfo=NY), None)
    assert plan.delivery_date == dt.date(2026, 11, 30)


def test_requested_day_in_the_past_is_moved() -> None:
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 24, 10, 0, tzinfo=NY), dt.date(2026, 11, 20))
    assert plan.reason == "past"
    assert plan.delivery_date == dt.date(2026, 11, 25)


def test_cutoff_is_judged_on_the_suppliers_clock_not_utc() -> None:
    # 03:30 UTC on Wednesday is 22:30 on Tuesday in New York: before the 23:00 cut-off.
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC), None)
    assert plan.delivery_date == dt.date(2026, 11, 25)


def test_small_hours_cutoff_across_midnight_still_makes_same_morning() -> None:
    market = schedule(cutoff=dt.time(2, 0))
    before = plan_delivery(market, dt.datetime(2026, 11, 25, 0, 45, tzinfo=NY), None)
    after = plan_delivery(market, dt.datetime(2026, 11, 25, 2, 30, tzinfo=NY), None)
    assert before.delivery_date == dt.date(2026, 11, 25)
    assert after.delivery_date == dt.date(2026, 11, 26)


def test_message_just_after_midnight_missed_that_days_evening_cutoff() -> None:
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 25, 0, 30, tzinfo=NY), dt.date(2026, 11, 25))
    assert plan.delivery_date == dt.date(2026, 11, 26)
    assert plan.reason == "cutoff"


def test_cutoff_uses_winter_offset_right_after_dst_ends() -> None:
    # US DST ended on Sunday 1 Nov 2026. 03:30 UTC on 2 Nov is 22:30 EST (before the cut-off); with the
    # summer offset it would wrongly be 23:30 (after it).
    plan = plan_delivery(schedule(), dt.datetime(2026, 11, 2, 3, 30, tzinfo=dt.UTC), None)
    assert plan.delivery_date == dt.date(2026, 11, 2)
    assert not plan.after_cutoff


def test_deadline_on_the_night_clocks_go_forward_is_local_wall_time() -> None:
    # Europe/London moves to BST on Sunday 29 Mar 2026; the 23:00 cut-off for Monday is 22:00 UTC.
    deadline = schedule("Europe/London").deadline(dt.date(2026, 3, 30))
    assert deadline.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.UTC)


def test_deadline_before_clocks_go_forward_is_an_hour_later_in_utc() -> None:
    deadline = schedule("Europe/London").deadline(dt.date(2026, 3, 28))
    assert deadline.astimezone(dt.UTC) == dt.datetime(2026, 3, 27, 23, 0, tzinfo=dt.UTC)


def test_edits_are_accepted_until_the_cutoff_of_the_delivery_day() -> None:
    rules = schedule()
    delivery = dt.date(2026, 11, 26)
    assert can_still_edit(rules, delivery, dt.datetime(2026, 11, 25, 22, 59, tzinfo=NY))
    assert not can_still_edit(rules, delivery, dt.datetime(2026, 11, 25, 23, 1, tzinfo=NY))


def test_supplier_without_delivery_days_delivers_every_day() -> None:
    plan = plan_delivery(schedule(days=()), dt.datetime(2026, 11, 28, 21, 0, tzinfo=NY), None)
    assert plan.delivery_date == dt.date(2026, 11, 29)


def test_schedule_of_a_supplier_row_reads_its_settings(db) -> None:
    from tests.factories import SupplierFactory

    supplier = SupplierFactory(timezone="Europe/Lisbon", cutoff_time=dt.time(22, 0), delivery_weekdays=[2, 4])
    rules = Schedule.of(supplier)
    assert rules == Schedule("Europe/Lisbon", dt.time(22, 0), (2, 4))
    plan = plan_delivery(rules, dt.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Lisbon")), None)
    assert plan.delivery_date == dt.date(2026, 11, 24)  # Tuesday
