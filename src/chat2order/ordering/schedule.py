"""Cut-off and delivery days: which day an order can be delivered, in the supplier's own timezone.

A supplier has a cut-off time and the ISO weekdays it delivers on. The deadline for a delivery day D is
the cut-off on the evening before D (a cut-off in the afternoon or evening, the usual "order by 11 pm for
tomorrow"), or on D itself when the cut-off is in the small hours (a market that takes orders until 2 am
for that morning's round). All arithmetic is done on local wall-clock times with `zoneinfo`, so a DST
change between the order and the delivery moves nothing by an hour.

Pure functions on a small `Schedule` value; `Schedule.of(supplier)` reads one from the table row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

# A cut-off before noon belongs to the delivery day itself (see module docstring).
_SAME_DAY_CUTOFF_BEFORE = dt.time(12, 0)
_SEARCH_DAYS = 21

MoveReason = Literal["", "cutoff", "no_delivery_day", "past"]


@dataclass(frozen=True)
class Schedule:
    timezone: str
    cutoff_time: dt.time
    delivery_weekdays: tuple[int, ...]  # ISO: 1 = Monday ... 7 = Sunday; empty means every day

    @classmethod
    def of(cls, supplier: Any) -> Schedule:
        days = tuple(sorted({int(d) for d in (supplier.delivery_weekdays or ()) if 1 <= int(d) <= 7}))
        return cls(
            timezone=supplier.timezone or "UTC",
            cutoff_time=supplier.cutoff_time or dt.time(23, 0),
            delivery_weekdays=days,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def delivers_on(self, day: dt.date) -> bool:
        return not self.delivery_weekdays or day.isoweekday() in self.delivery_weekdays

    def deadline(self, delivery_date: dt.date) -> dt.datetime:
        """The last moment (aware, supplier local time) an order or an edit makes this delivery."""
        day = delivery_date if self.cutoff_time < _SAME_DAY_CUTOFF_BEFORE else delivery_date - dt.timedelta(days=1)
        return dt.datetime.combine(day, self.cutoff_time, tzinfo=self.zone)

    def next_delivery_day(self, start: dt.date) -> dt.date:
        """The first delivery day on or after `start`."""
        for offset in range(_SEARCH_DAYS):
            day = start + dt.timedelta(days=offset)
            if self.delivers_on(day):
                return day
        return start

    def earliest(self, now: dt.datetime) -> dt.date:
        """The first delivery day whose deadline has not passed at `now`."""
        local = now.astimezone(self.zone)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            day = self.next_delivery_day(day)
            if local < self.deadline(day):
                return day
            day += dt.timedelta(days=1)
        return day


@dataclass(frozen=True)
class DeliveryPlan:
    """The day we will deliver, and whether that is not what the chef asked for (they must be told)."""

    delivery_date: dt.date
    requested: dt.date | None
    reason: MoveReason  # why the requested day could not be kept; "" when it was (or none was asked)
    deadline: dt.datetime  # changes accepted until then (supplier local time)
    after_cutoff: bool  # the order arrived after the cut-off of the next possible delivery

    @property
    def moved(self) -> bool:
        return self.reason != ""


def plan_delivery(schedule: Schedule, received_at: dt.datetime, requested: dt.date | None) -> DeliveryPlan:
    """Pick the delivery day for an order received at `received_at` asking for `requested` (or none)."""
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=dt.UTC)
    earliest = schedule.earliest(received_at)
    local_date = received_at.astimezone(schedule.zone).date()
    naive_next = schedule.next_delivery_day(local_date + dt.timedelta(days=1))
    after_cutoff = earliest > naive_next
    reason: MoveReason = ""
    if requested is None:
        day = earliest
    elif requested < local_date:
        day, reason = earliest, "past"
    elif requested < earliest:
        day, reason = earliest, "cutoff"
    elif not schedule.delivers_on(requested):
        day, reason = schedule.next_delivery_day(requested), "no_delivery_day"
    else:
        day = requested
    return DeliveryPlan(
        delivery_date=day,
        requested=requested,
        reason=reason,
        deadline=schedule.deadline(day),
        after_cutoff=after_cutoff,
    )


def can_still_edit(schedule: Schedule, delivery_date: dt.date | None, now: dt.datetime) -> bool:
    """True while the cut-off for the order's delivery day has not passed."""
    if delivery_date is None:
        return True
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now < schedule.deadline(delivery_date)
