"""Per-process caches of the matcher: they return what a fresh computation returns, and never hand a
caller an object another caller can change."""

from __future__ import annotations

from tests.unit.parsing.catalogs import PRODUCE_US, index, past

from chat2order.parsing.history import Profile


def _skus(scored) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.item.sku for s in scored]


def test_cached_search_returns_what_a_fresh_index_returns() -> None:
    warm, fresh = index(PRODUCE_US, "en-US"), index(PRODUCE_US, "en-US")
    keep = ("T-PLUM-CS", "LIM-175")
    warm.search(["tomato", "plum"], ["m25"], keep=keep)
    assert warm.search(["tomato", "plum"], ["m25"], keep=keep) == fresh.search(
        ["tomato", "plum"], ["m25"], keep=keep
    )


def test_cached_search_result_cannot_be_changed_by_a_caller() -> None:
    idx = index(PRODUCE_US, "en-US")
    first = idx.search(["lime"], keep=("LIM-175",))
    expected = _skus(first)
    first.clear()
    assert _skus(idx.search(["lime"], keep=("LIM-175",))) == expected


def test_search_cache_tells_histories_apart() -> None:
    idx = index(PRODUCE_US, "en-US")
    without = _skus(idx.search(["onion"], keep=("ON-WHT-50",)))
    with_red = _skus(idx.search(["onion"], keep=("ON-RED-10",)))
    fresh = index(PRODUCE_US, "en-US")
    assert without == _skus(fresh.search(["onion"], keep=("ON-WHT-50",)))
    assert with_red == _skus(fresh.search(["onion"], keep=("ON-RED-10",)))


def test_search_with_a_set_of_history_skus_matches_the_tuple_form() -> None:
    idx = index(PRODUCE_US, "en-US")
    assert _skus(idx.search(["tomato"], keep={"T-BEEF-CS"})) == _skus(
        idx.search(["tomato"], keep=("T-BEEF-CS",))
    )


def test_profile_is_reused_for_the_same_history_object() -> None:
    history = (past("2026-01-05 21:00", ("LIM-175", 2, "case")),)
    assert Profile.of(history) is Profile.of(history)


def test_profile_of_an_equal_but_new_history_is_counted_again() -> None:
    first = (past("2026-01-05 21:00", ("LIM-175", 2, "case")),)
    second = (
        past("2026-01-05 21:00", ("LIM-175", 2, "case")),
        past("2026-01-06 21:00", ("LEM-140", 1, "case")),
    )
    assert Profile.of(second).counts == {"LIM-175": 1, "LEM-140": 1}
    assert Profile.of(first).skus == ("LIM-175",)
