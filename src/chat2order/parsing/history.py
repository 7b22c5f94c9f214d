"""What a restaurant's past orders with this supplier say: its standing order ("the usual"), the order of
a given day ("same as last friday"), and which variant of a product this kitchen buys.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from chat2order.parsing.model import PastLine, PastOrder

# Profiles of recent histories, keyed by the history tuple's id; the tuple itself is kept beside its
# profile so the id cannot be reused by another object while the entry lives. Profiles are read-only.
_PROFILES: dict[int, tuple[tuple[PastOrder, ...], Profile]] = {}
_PROFILES_MAX = 512
_PROFILES_LOCK = threading.Lock()


@dataclass
class Profile:
    """History facts used while matching, computed once per parse."""

    orders: tuple[PastOrder, ...]
    counts: Counter[str] = field(default_factory=Counter)  # SKU -> number of orders holding it
    quantities: dict[str, Counter[tuple[Decimal, str | None]]] = field(default_factory=dict)
    skus: tuple[str, ...] = ()  # the SKUs of `counts` in its order, immutable for the index's cache

    @classmethod
    def of(cls, orders: tuple[PastOrder, ...]) -> Profile:
        """The profile of a history; the same history object (ContextBuilder hands out one tuple per
        restaurant and supplier until a new order lands) reuses its profile instead of recounting it."""
        hit = _PROFILES.get(id(orders))
        if hit is not None and hit[0] is orders:
            return hit[1]
        profile = cls._count(orders)
        with _PROFILES_LOCK:
            if len(_PROFILES) >= _PROFILES_MAX:
                _PROFILES.pop(next(iter(_PROFILES)), None)
            _PROFILES[id(orders)] = (orders, profile)
        return profile

    @classmethod
    def _count(cls, orders: tuple[PastOrder, ...]) -> Profile:
        counts: Counter[str] = Counter()
        quantities: dict[str, Counter[tuple[Decimal, str | None]]] = defaultdict(Counter)
        for order in orders:
            seen = set()
            for line in order.lines:
                if line.sku not in seen:
                    counts[line.sku] += 1
                    seen.add(line.sku)
                quantities[line.sku][(Decimal(line.quantity).normalize(), line.unit)] += 1
        return cls(orders, counts, dict(quantities), tuple(counts))

    def __contains__(self, sku: str) -> bool:
        return sku in self.counts

    def standing(self) -> list[PastLine]:
        """Every SKU in all past orders, at its (most common) quantity, in the order of the latest order."""
        if not self.orders:
            return []
        n = len(self.orders)
        keep = {sku for sku, c in self.counts.items() if c == n}
        latest = max(self.orders, key=lambda o: o.placed_at)
        out: list[PastLine] = []
        seen: set[str] = set()
        for order in (latest, *self.orders):
            for line in order.lines:
                if line.sku in keep and line.sku not in seen:
                    (qty, unit), _ = self.quantities[line.sku].most_common(1)[0]
                    out.append(PastLine(line.sku, qty, unit))
                    seen.add(line.sku)
        return out

    def on_weekday(self, weekday: int, before: dt.date) -> list[PastLine]:
        """Lines of the latest order placed on that weekday (local date) before `before`."""
        days = sorted(
            (o for o in self.orders if o.placed_at.weekday() == weekday and o.placed_at.date() < before),
            key=lambda o: o.placed_at,
        )
        if not days:
            return []
        return list(days[-1].lines)

    def standing_quantity(self, sku: str, quantity: float | None) -> bool:
        """Does this kitchen order this SKU at exactly this quantity, in most of its orders?"""
        if quantity is None or sku not in self.quantities:
            return False
        return any(float(q) == quantity for (q, _), c in self.quantities[sku].items() if c >= 2)

    def ordered_in_sale_unit(self, sku: str, quantity: float, sale_unit: str) -> bool:
        """Does this kitchen order `quantity` of this SKU in its sale unit (or with no unit), more than once?

        Once is no habit: "3 homards" where it took 3 kg of lobster one week still means three lobsters."""
        return any(
            float(q) == quantity and (u is None or u == sale_unit) and c >= 2
            for (q, u), c in self.quantities.get(sku, {}).items()
        )
