"""The parser's shortcuts (issue 7) give what the long way gives: pre-filters, memos, scratch arrays."""

from __future__ import annotations

import math
import re
import threading
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.parsing.catalogs import PRODUCE_US, index

from chat2order.parsing import cleanup, intent, lines, nlp, resolve, segment, units
from chat2order.parsing._langdata import load
from chat2order.parsing.units import table_word, unit_word


def _skus(scored) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.item.sku for s in scored]


@pytest.mark.parametrize("word", ["thyme", "tomatos", "Roma", "jalapeno", "abc", "cannot", "gonna", "dont"])
def test_plain_word_tokenizes_as_spacy_does(word: str) -> None:
    spacy_tokens = tuple(t.text for t in nlp.pipeline("en").tokenizer(word) if not t.is_space)
    assert nlp._piece_tokens.__wrapped__(word, "en") == spacy_tokens


def test_tokenizer_exception_is_still_split() -> None:
    assert nlp.tokens("cannot", "en") == ["can", "not"]


@pytest.mark.parametrize("word", ["case", "cs", "bag", "dz", "each", "kg", "lbs", "kilograms", "roma", "box"])
def test_table_word_agrees_with_unit_word_on_packaging_and_count_words(word: str) -> None:
    full = unit_word(word)
    table = table_word(word)
    if full is not None and full[0] in ("package", "count"):
        assert table == full
    else:
        assert table is None or table == full


def test_table_word_does_not_ask_pint() -> None:
    assert unit_word("kilograms") == ("measure", "kg")
    assert table_word("kilograms") in (None, ("measure", "kg"))


@pytest.mark.parametrize(
    "text", ["2 cs roma tomato", "lemons 115", "aguacate 60", "twenty five lemons", "1 1/2 case lime", "19 ½ kg"]
)
def test_read_with_count_sizes_is_the_full_read(text: str) -> None:
    sizes = frozenset({"c115", "c60", "c25", "c20"})
    fast = lines.read(text, "en", count_sizes=sizes)
    slow = lines._read(text, "en", False, sizes)
    assert (fast.quantity, fast.words, fast.specs, fast.unit) == (slow.quantity, slow.words, slow.specs, slow.unit)


def test_count_size_after_a_product_is_a_size_not_a_quantity() -> None:
    assert lines.read("lemons 115", "en", count_sizes=frozenset({"c115"})).specs == ["c115"]
    assert lines.read("lemons 115", "en").specs == []


def test_read_copies_are_independent() -> None:
    first = lines.read("3 cs roma tomato", "en")
    first.words.append("extra")
    assert lines.read("3 cs roma tomato", "en").words == ["roma", "tomato"]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.'!?0123456789\n", max_size=80))
def test_intent_prefilter_changes_no_decision(text: str) -> None:
    fast = intent.classify(text)
    original = intent._may_match
    try:
        intent._may_match = lambda runs, heads: True  # type: ignore[assignment]
        slow = intent.classify(text)
    finally:
        intent._may_match = original  # type: ignore[assignment]
    assert fast == slow


@pytest.mark.parametrize(
    "text",
    ["as usual for friday", "can't wait, send 2 cs tmrw", "forget it", "never mind the usual", "auto-reply: out of office"],
)
def test_intent_prefilter_changes_no_decision_on_cue_phrases(text: str) -> None:
    fast = intent.classify(text)
    original = intent._may_match
    try:
        intent._may_match = lambda runs, heads: True  # type: ignore[assignment]
        slow = intent.classify(text)
    finally:
        intent._may_match = original  # type: ignore[assignment]
    assert fast == slow


def test_spellings_with_one_catalog_reading_share_a_search_and_match_a_fresh_index() -> None:
    warm = index(PRODUCE_US, "en-US")
    keep = ("T-PLUM-CS",)
    warm.search(["tomatoes", "plum"], keep=keep)
    assert _skus(warm.search(["tomato", "plum"], keep=keep)) == _skus(
        index(PRODUCE_US, "en-US").search(["tomato", "plum"], keep=keep)
    )


def test_scratch_arrays_leave_no_trace_between_searches() -> None:
    idx = index(PRODUCE_US, "en-US")
    fresh = index(PRODUCE_US, "en-US")
    idx.search(["onion", "red", "tomato", "lime"], keep=())
    assert _skus(idx.search(["lemon"], keep=())) == _skus(fresh.search(["lemon"], keep=()))
    assert not any(scratch.any() for scratch in idx._scratch())


def test_searches_from_several_threads_agree_with_one_thread() -> None:
    idx = index(PRODUCE_US, "en-US")
    queries = [["tomato"], ["onion", "red"], ["lime"], ["lemon"], ["milk"], ["egg", "xl"]] * 20
    expected = [_skus(index(PRODUCE_US, "en-US")._search(q, (), 24, ())) for q in queries]
    results: list[list[list[str]]] = [[] for _ in range(4)]

    def work(k: int) -> None:
        results[k] = [_skus(idx._search(q, (), 24, ())) for q in queries]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=12))
def test_best_and_memoised_rounding_pick_what_rounding_each_time_picks(names: list[float]) -> None:
    idx = index(PRODUCE_US, "en-US")
    item = idx.items[0]
    group = [resolve.Scored(item, 1.0, name, 0.0) for name in names]
    top = max(round(s.name, 2) for s in group)
    assert resolve._best(group, resolve._name2) == [s for s in group if round(s.name, 2) == top]
    assert [resolve._name2(s) for s in group] == [round(s.name, 2) for s in group]


@pytest.mark.parametrize("words", [["leomn", "tomato"], ["tomatoe", "plum"], ["onoin", "red"], ["abcd", "lime"]])
def test_respelling_memo_gives_the_swapped_spelling(words: list[str]) -> None:
    idx = index(PRODUCE_US, "en-US")
    raw = lines.read(" ".join(["2 cs", *words]), "en")
    expected = [resolve._swapped(w, idx) for w in raw.words]
    assert resolve._respell(raw, idx).words == expected
    assert resolve._respell(raw, idx).words == expected  # from the memo


_PLAIN_NOT_QUANTITY = re.compile(
    r"\d{1,2}\s*[:h]\s*\d{2}|\d{1,2}\s*(?:am|pm|h)\b|\d{1,2}h\s*-\s*\d{1,2}h"
    r"|(?:at|as|às|las|alle|ore|à|a las|before|after|antes de las|depois das|entre las|y las|e as)\s+\d{1,2}\b"
    r"|[$£€]\s*\d[\d,.]*|\d[\d,.]*\s*(?:€|£|eur|euros|dollars|usd|gbp)(?!\w)"
    r"|\d+\s*(?:ct|count|st|nd|rd|th|º|ª|°)\b|\d{1,3}\s*x\s*\d+(?![\w.,]*\s*(?:kg|lb|g|#))"
    r"|\d+\s*/\s*\d+\s*/\s*\d+|\d{4,}|\d+(?:[\s.-]\d+){2,}|\d+\s*%"
    r"|(?:the|invoice|fatura|fattura|factura|facture|n\.|no\.|nº|#)\s*\d+"
    r"|\b\d+\s*(?:people|pessoas|personas|persone|couverts|covers|pax|pizze|pizzas)\b"
)


def _plain_dates() -> re.Pattern[str]:
    """The date mask as one plain alternation (as it was before the grouping)."""
    data, days = load("intent", "cues"), load("dates", "words")
    langs = [days[lang] for lang in days]
    units = intent._alternation(data["numbers"]["units"])
    months = intent._alternation([w for d in langs for names in d["months"] for w in names if len(w) > 3])
    weekdays = intent._alternation([w for d in langs for names in d["weekdays"] for w in names])
    return re.compile(
        rf"(?<![\w])(?:{weekdays})\s+(?:dia\s+|the\s+)?\d{{1,2}}(?!\s*(?:{units})(?![\w]))"
        rf"|\d{{1,2}}(?:st|nd|rd|th|º|er)?\s*(?:de\s+|of\s+)?(?:{months})(?![\w])"
        rf"|(?<![\w])(?:le|el|il|del|dal|du|au|dia|the|on the)\s+\d{{1,2}}(?![\d.,])(?!\s*(?:{units})(?![\w]))"
    )


_MASK_PIECES = st.sampled_from(
    ["2", "12", "3.5", "1,5", "10h", ":", "30", "am", "pm", " ", "  ", "\n", "-", "/", "x", "%", "$", "€", "£", "#",
     "at ", "as ", "a las ", "before ", "the ", "invoice ", "no.", "n.", "nº", "ct", "th", "people", "eur", "kg",
     "mon", "monday ", "friday", "tue", "dia ", "le ", "el ", "on the ", "of ", "de ", "december", "dec", "janeiro",
     "mars", "st", "er", "º", "à", "e as ", "lb", "cs", "roma", "tomato", "a", "y las "]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_MASK_PIECES, max_size=14).map("".join))
def test_grouped_masks_blank_what_the_plain_alternations_blank(text: str) -> None:
    rules = intent._rules()
    assert rules.not_quantity.sub(" ", text) == _PLAIN_NOT_QUANTITY.sub(" ", text)
    assert rules.dates.sub(" ", text) == _plain_dates().sub(" ", text)


def test_word_led_masks_start_with_a_lead_character() -> None:
    words = ["at", "as", "às", "las", "alle", "ore", "à", "a las", "before", "after", "antes de las",
             "depois das", "entre las", "y las", "e as", "$", "£", "€", "the", "invoice", "fatura", "fattura",
             "factura", "facture", "n.", "no.", "nº", "#"]
    assert {w[0] for w in words} <= set(intent._NOT_QUANTITY_LEADS)


@pytest.mark.parametrize(
    "text",
    ["2 cs roma for monday 12", "delivery on the 24 pls, 3 kg onions", "le 24 décembre 2 caisses", "12 december 5 cs",
     "send 2 cases fri", "el 25 y el 26, 4 kg", "dia 17 manda 3 kg", "5 lb at 10 am, $40 invoice 2231"],
)
def test_date_mask_prefilter_changes_no_decision(text: str) -> None:
    fast = intent.classify(text)
    original = intent._may_match
    try:
        intent._may_match = lambda runs, heads: True  # type: ignore[assignment]
        slow = intent.classify(text)
    finally:
        intent._may_match = original  # type: ignore[assignment]
    assert fast == slow


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "no", "No", "approx", "cat", "1", "2", " ", "  ", ";", "|", ",", ".", ":", "!",
                                 "…", "?", "+", "-", "–", "/", "\t", "kg", "\n"]), max_size=20).map("".join))
def test_item_boundaries_split_where_the_plain_pattern_splits(text: str) -> None:
    lead = r"(?=[\s;|,.:!…?])"
    assert segment._HARD.pattern.startswith(lead)
    plain = re.compile(segment._HARD.pattern[len(lead) :])
    assert segment._HARD.split(text) == plain.split(text)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 0.5, 1 / 3, 2.5, 10.0, 1e-5]))
def test_memoised_decimal_is_the_fresh_conversion(value: float) -> None:
    def fresh(v: float) -> Decimal:
        if math.isnan(v) or math.isinf(v):
            return Decimal(0)
        return Decimal(str(round(v, 4))).normalize()

    for _ in range(2):  # the second call answers from the memo
        got = units.decimal(value)
        assert (got, str(got)) == (fresh(value), str(fresh(value)))


def _flat_cleanup_patterns() -> cleanup._Patterns:
    grouped = cleanup._words_by_letter
    cleanup._patterns.cache_clear()
    try:
        cleanup._words_by_letter = cleanup._words  # type: ignore[assignment]
        return cleanup._patterns()
    finally:
        cleanup._words_by_letter = grouped  # type: ignore[assignment]
        cleanup._patterns.cache_clear()


_SIGN_PIECES = st.sampled_from(
    ["Thanks", "thanks", "THANK YOU", "thank you so much", "many thanks", "ty", "Ta", "best", "Best regards",
     "cheers", "obrigada", "Obrigado desde já", "merci d'avance", "Merci", "bonne soirée", "grazie", "Un saludo",
     "hi", "Hello there", "bom dia", "Bonjour", "buenos días", "Priya", "Sr. Carlos", "Margot", "2 cs roma",
     "tomato", " ", ", ", "!", ".", " - ", ":)", "\u2014", "x", "Tim", "hey"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SIGN_PIECES, max_size=8).map("".join))
def test_sign_off_and_greeting_patterns_grouped_by_letter_match_the_flat_ones(text: str) -> None:
    fast, flat = cleanup._patterns(), _flat_cleanup_patterns()
    for name in ("signoff_line", "signoff_tail", "greeting_line", "greeting_prefix"):
        a, b = getattr(fast, name).search(text), getattr(flat, name).search(text)
        assert (a and a.span()) == (b and b.span()), name


class _Everything:
    """A set that holds every string: turns the phrase-head pre-filter off."""

    def __contains__(self, item: object) -> bool:
        return True


def _phrase_index(rows, locale: str, prefilter: bool = True):  # type: ignore[no-untyped-def]
    idx = index(rows, locale)
    if not prefilter:
        idx._phrase_heads = _Everything()  # type: ignore[assignment]
    return idx


def _phrase_chunks(idx) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """Two- and three-word runs a line may hold: the lexicon's own phrases (as written and capitalised),
    the catalog's hyphenated words split, and runs of catalog and chef words that are neither."""
    from chat2order.parsing import grammar

    phrases = [m.split() for g in grammar.food_groups() for m in g if " " in m]
    phrases += [w.split("-") for w in idx.postings if "-" in w]
    words = sorted(idx.postings)[:40] + ["st", "ste", "saint", "tomate", "verde", "Tomates", "xl", "2", "de"]
    runs = [p[:3] for p in phrases] + [[p[0].capitalize(), *p[1:3]] for p in phrases]
    runs += [[a, b] for a in words for b in words[::7]]
    runs += [[a, b, c] for a in words[::3] for b in words[::5] for c in words[::11]]
    return [tuple(r) for r in runs if len(r) > 1]


@pytest.mark.parametrize(
    "catalog_name", ["PRODUCE_US", "LEGUMES_PT", "PRIMEUR_FR", "ORTO_IT", "FRUTAS_ES", "FROMAGES_FR"]
)
def test_phrase_prefilter_gives_what_the_full_lookup_gives(catalog_name: str) -> None:
    from tests.unit.parsing import catalogs
    from tests.unit.parsing.test_unseen_suppliers_more import FROMAGES_FR

    rows, locale = {
        "PRODUCE_US": (catalogs.PRODUCE_US, "en-US"), "LEGUMES_PT": (catalogs.LEGUMES_PT, "pt-PT"),
        "PRIMEUR_FR": (catalogs.PRIMEUR_FR, "fr-FR"), "ORTO_IT": (catalogs.ORTO_IT, "it-IT"),
        "FRUTAS_ES": (catalogs.FRUTAS_ES, "es-ES"), "FROMAGES_FR": (FROMAGES_FR, "fr-FR"),
    }[catalog_name]
    fast, slow = _phrase_index(rows, locale), _phrase_index(rows, locale, prefilter=False)
    chunks = _phrase_chunks(fast)
    assert [fast._phrase(c) for c in chunks] == [slow._phrase(c) for c in chunks]


@pytest.mark.parametrize("chunk", [("saint", "nectaire"), ("sainte", "odile"), ("Saint", "Nectaire", "fermier")])
def test_phrase_prefilter_lets_the_saint_abbreviation_meet_the_hyphenated_name(chunk: tuple[str, ...]) -> None:
    from tests.unit.parsing.test_unseen_suppliers_more import FROMAGES_FR

    fast, slow = _phrase_index(FROMAGES_FR, "fr-FR"), _phrase_index(FROMAGES_FR, "fr-FR", prefilter=False)
    assert fast._phrase(chunk) == slow._phrase(chunk)
    assert fast._phrase(chunk[:2])


@pytest.mark.parametrize("catalog_name", ["PRODUCE_US", "LEGUMES_PT", "PRIMEUR_FR", "ORTO_IT", "FRUTAS_ES"])
def test_knows_is_what_expand_rates_one(catalog_name: str) -> None:
    from tests.unit.parsing import catalogs

    rows = getattr(catalogs, catalog_name)
    locale = {"PRODUCE_US": "en-US", "LEGUMES_PT": "pt-PT", "PRIMEUR_FR": "fr-FR", "ORTO_IT": "it-IT"}.get(
        catalog_name, "es-ES"
    )
    expanded, plain = index(rows, locale), index(rows, locale)  # knows() after expand(), and without it
    words = sorted(plain.postings)
    # The words, their plurals and capitals, and every swapped-letter and dropped-letter typo of them.
    tried = words + [w + "s" for w in words] + [w + "es" for w in words] + [w.upper() for w in words]
    tried += [w[:k] + w[k + 1] + w[k] + w[k + 2 :] for w in words for k in range(len(w) - 1)]
    tried += [w[:k] + w[k + 1 :] for w in words for k in range(len(w))] + ["", "x", "cs", "kg", "limoes"]
    for word in tried:
        assert plain.knows(word) == (bool(expanded.expand(word)) and expanded.expand(word)[0][1] >= 1.0), word
        assert expanded.knows(word) == plain.knows(word), word


def _scores(scored) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return [(s.item.sku, s.query, s.name, s.spec, s.head) for s in scored]


def test_remembered_name_coverages_give_what_fresh_sums_give(monkeypatch: pytest.MonkeyPatch) -> None:
    from chat2order.parsing import index as index_module

    queries = [
        ["roma", "tomato"], ["tomato", "roma"], ["tomatos", "roma"], ["tomato", "plum", "roma"], ["plum", "tomato"],
        ["red", "onion"], ["onion", "red"], ["onoin", "red"], ["lime"], ["lemon", "lime"], ["egg", "xl"],
        ["xl", "egg", "brown"], ["tomato"], ["onion", "red", "tomato", "lime"], ["lime", "tomato", "red", "onion"],
    ] * 2
    warm = index(PRODUCE_US, "en-US")
    remembered = [_scores(warm._search(q, ["m25"] if k % 3 == 0 else [], 24, ())) for k, q in enumerate(queries)]
    assert warm._coverage_cache
    monkeypatch.setattr(index_module, "COVERAGE_CACHE_SIZE", 0)
    fresh = [
        _scores(index(PRODUCE_US, "en-US")._search(q, ["m25"] if k % 3 == 0 else [], 24, ()))
        for k, q in enumerate(queries)
    ]
    assert remembered == fresh


def test_coverage_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from chat2order.parsing import index as index_module

    monkeypatch.setattr(index_module, "COVERAGE_CACHE_SIZE", 3)
    idx = index(PRODUCE_US, "en-US")
    for q in (["tomato"], ["onion"], ["lime"], ["lemon"], ["egg"], ["onion", "red"]):
        idx._search(q, (), 24, ())
    assert len(idx._coverage_cache) == 3


def test_remembered_terms_give_the_query_a_fresh_index_reads() -> None:
    lines_words = [
        ["roma", "tomato"], ["tomatos", "roma"], ["tomato", "verde"], ["red", "onion", "xl"], ["onoin", "red"],
        ["lemons"], ["lime", "lemon"], ["eggs", "brown", "xl"], ["zzz", "tomato"], ["tomate", "verde", "roma"],
    ]
    warm = index(PRODUCE_US, "en-US")
    remembered = [warm._query(tuple(w)) for w in lines_words + lines_words[::-1]]
    assert warm._term_cache
    fresh = [index(PRODUCE_US, "en-US")._query(tuple(w)) for w in lines_words + lines_words[::-1]]
    assert remembered == fresh
