"""Choose the SKU of one read line: catalog match, then the stated unit and sizes, then this kitchen's
history; flag the line with the candidates when a careful clerk would have to ask.

Confidence is a score in 0..1 built from how much of the chef's wording the SKU explains and how the
choice was made (unique match, history, pack); `needs_review` is confidence below REVIEW_BELOW or a real
ambiguity. Not carried (sku None, not_carried True) when the catalog holds no SKU for the words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from weakref import WeakKeyDictionary

from rapidfuzz import fuzz

from chat2order.parsing import grammar, nlp
from chat2order.parsing.history import Profile
from chat2order.parsing.index import CatalogIndex, Item, Scored
from chat2order.parsing.lines import RawLine
from chat2order.parsing.units import dimension, fold, is_measure

REVIEW_BELOW = 0.8
NOT_CARRIED_BELOW = 0.55  # share of the chef's words a SKU must explain to be a match at all
TIE = 0.08  # query scores this close are the same match
HISTORY_REACH = 0.35  # how much weaker a match from this kitchen's history may be and still be read
COUNT_UNITS = ("each", "dozen")
_OF_WORDS = frozenset(("de", "di", "da", "do", "du", "des", "dos", "das", "del", "della", "of"))
# Pack words too common to single out a SKU by appearing in its pack string.
GENERIC_PACK_WORDS = frozenset(
    ("case", "cs", "box", "bx", "bag", "sack", "bunch", "flat", "tray", "pack", "pk", "can", "tin", "jar", "tub",
     "bottle", "carton", "ctn", "crate")
)

# Respellings per catalog index, dropped with the index (a new catalog version builds a new one).
_RESPELT: WeakKeyDictionary[CatalogIndex, dict[str, str]] = WeakKeyDictionary()


@dataclass(frozen=True)
class Choice:
    sku: str | None
    unit: str | None
    confidence: float
    needs_review: bool
    candidates: tuple[str, ...]
    not_carried: bool
    family: tuple[str, ...] = ()  # SKUs of the same product (before unit and size), for edits
    reason: str = ""  # how the SKU was chosen (unique, history, ...), for confidence and debugging


def _pack_fit(raw: RawLine, item: Item) -> int:
    """2: the stated unit is this SKU's sale unit; 1: compatible; 0: neutral; -1: contradicts."""
    sale = item.sale_unit
    if raw.kind == "measure" and raw.unit:
        if is_measure(sale) and dimension(sale) == dimension(raw.unit):
            return 2
        if raw.measure_hint and raw.measure_hint in item.specs:
            return 1
        return -1
    if raw.kind == "package" and raw.unit:
        if sale == raw.unit:
            # "seau" vs "pot" when both are tubs: the chef's own word in the pack string decides.
            specific = raw.unit_text and raw.unit_text not in GENERIC_PACK_WORDS
            return 3 if specific and raw.unit_text in item.pack.words else 2
        if item.pack.container == raw.unit:
            return 1
        if is_measure(sale):
            return -1
        return 0
    if raw.kind == "count" and raw.unit:
        if sale == raw.unit or (sale in COUNT_UNITS):
            return 2
        if is_measure(sale):
            return 1
        return 0
    if raw.kind == "sale_pack" and raw.sale_pack:
        word = raw.sale_pack.rstrip("s")
        if any(w.rstrip("s") == word for w in item.pack.words):
            return 2
        return -1 if is_measure(sale) else 0
    return 0


def _best(group: list[Scored], key) -> list[Scored]:  # type: ignore[no-untyped-def]
    """The members of `group` with the highest `key`, in their order (each key computed once)."""
    keys = [key(s) for s in group]
    top = max(keys)
    return [s for s, k in zip(group, keys) if k == top]


# round(name, 2) of the name coverages seen so far: Python's correctly rounded round() costs ~1 us, the
# decision rules ask for it several times per candidate, and a catalog's coverages take few distinct values.
_ROUNDED2: dict[float, float] = {}


def _name2(s: Scored) -> float:
    """round(s.name, 2), memoised."""
    name = s.name
    out = _ROUNDED2.get(name)
    if out is None:
        if len(_ROUNDED2) > 200_000:
            _ROUNDED2.clear()
        out = _ROUNDED2[name] = round(name, 2)
    return out


def _search(raw: RawLine, index: CatalogIndex, profile: Profile) -> list[Scored]:
    """Search with the words after the quantity; when they explain little, with the words before too
    ("il prezzemolo di ieri era giallo, me ne mandi 5 mazzi nuovi")."""
    scored = index.search(raw.words, raw.specs, keep=profile.skus)
    if len(raw.words) > 2 and (not scored or scored[0].query < 0.8):
        # "1 more case lemons tomorrow if u have a truck going out": the product comes first after the
        # quantity; the rest is talk.
        for k in (1, 2, 3):
            if k >= len(raw.words):
                break
            if any(sim >= 1.0 for w in raw.words[k:] for _, sim in index.expand(w)[:1]):
                # "apple fuji xl wash": the later words are catalog words the chef chose, not talk.
                continue
            head = index.search(raw.words[:k], raw.specs, keep=profile.skus)
            if head and (not scored or head[0].query >= scored[0].query + 0.15):
                scored = head
    weak = not scored or scored[0].query < 0.8 or not any(s.head for s in scored[:3])
    if raw.words_before and weak:
        wider = index.search(raw.words_before + raw.words, raw.specs, keep=profile.skus)
        alone = index.search(raw.words_before, raw.specs, keep=profile.skus)
        for other in (wider, alone):
            if not other:
                continue
            # A reading that names the product noun beats one that only matched an adjective ("novos").
            if (
                not scored
                or other[0].query > scored[0].query + 0.1
                or (other[0].head and not scored[0].head and other[0].query >= 0.5)
            ):
                scored = other
    if (not scored or scored[0].query < 0.55) and (raw.words_before or len(raw.words) > 1):
        # Last resort in a chatty line: only the words the catalog knows ("a rúcula de hoje vinha com
        # muita areia ... 1 kg de troca").
        known = [w for w in raw.words_before + raw.words if index.expand(w)]
        if known and len(known) <= 2:
            only = index.search(known, raw.specs, keep=profile.skus)
            if only and only[0].head and only[0].query >= 0.9:
                scored = only
    if raw.notes and len(scored) > 1 and scored[1].query >= scored[0].query - TIE:
        # "10 pheasant (oven ready)": the note may pick among equal readings, never change the product.
        ties = {s.item.sku for s in scored if s.query >= scored[0].query - TIE}
        noted = index.search(list(raw.words) + list(raw.notes), raw.specs, keep=profile.skus)
        if noted and noted[0].item.sku in ties and noted[0].query >= 0.6:
            keep = {s.item.sku for s in noted if s.query >= noted[0].query - TIE} & ties
            return [s for s in scored if s.item.sku in keep] + [s for s in scored if s.item.sku not in ties]
    return scored


def _exact(word: str, index: CatalogIndex) -> bool:
    """The catalog holds this word (or its lemma / plural) as written."""
    return index.knows(word)


def _swapped(word: str, index: CatalogIndex) -> str:
    """A chef's word with two neighbouring letters swapped back ("leomn" -> "lemon", "itayl" -> "italy"),
    when that spelling is a catalog word and the word as typed is not. Edit-distance matching counts a swap
    as two edits, too many for a five-letter word, so the commonest thumb typo would otherwise go unread."""
    if len(word) < 4 or not word.isalpha() or _exact(word, index):
        return word
    low = word.lower()
    for k in range(len(low) - 1):
        if low[k] == low[k + 1]:
            continue
        cand = low[:k] + low[k + 1] + low[k] + low[k + 2 :]
        if _exact(cand, index):
            return cand
    return word


def _unexplained(words: list[str], item: Item, index: CatalogIndex) -> bool:
    """A chef's word the catalog reads only as a near spelling of some other catalog word, none of them in
    `item`'s name, and that looks like no word of that name ("tmato" reads as TOMATO, and is nothing like
    LEMON MEYER FANCY WASH). Words the catalog cannot read at all are talk ("emailed", "tartes")."""
    for word in words:
        low = fold(word)
        if len(low) < 3:
            continue
        near = index.expand(word)
        if not near or near[0][1] >= 1.0 or any(cand in item.words for cand, _ in near):
            continue
        if not any(name.startswith(low) or fuzz.ratio(low, name) >= 70 for name in item.words):
            return True
    return False


def _other_product(raw: RawLine, item: Item, usual: list[Scored], index: CatalogIndex) -> bool:
    """`item`'s name has, against every one of the kitchen's usual SKUs, a word the chef did not write: it
    is another product, not another packing of the usual one ("TOMATO ROMA" per lb vs "TOMATO ROMA XL
    25#" is a packing only if the chef wrote "xl")."""
    said = {cand for word in index.translate(raw.words) for alt in word.split("|") for w in alt.split()
            for cand, _ in index.expand(w)}
    return all(set(item.words) - set(u.item.words) - said for u in usual)


def _respelt(index: CatalogIndex) -> dict[str, str]:
    """`_swapped` of the words seen so far with this index (a pure function of word and catalog)."""
    memo = _RESPELT.get(index)
    if memo is None or len(memo) > 100_000:
        memo = _RESPELT[index] = {}
    return memo


def _respell(raw: RawLine, index: CatalogIndex) -> RawLine:
    memo = _respelt(index)
    words = [memo.get(w) or memo.setdefault(w, _swapped(w, index)) for w in raw.words]
    before = [memo.get(w) or memo.setdefault(w, _swapped(w, index)) for w in raw.words_before]
    if words == raw.words and before == raw.words_before:
        return raw
    return replace(raw, words=words, words_before=before)


def _talk_words(raw: RawLine, lang: str) -> set[str]:
    """Words of the line the reader dropped as talk ("fresh", "nice")."""
    said = {fold(w) for w in raw.words}
    filler = grammar.filler(lang)
    return {
        f for t in nlp.tokens(raw.text, lang)
        if (f := fold(t)) in filler and f not in said and f.isalpha() and len(t) >= 4
    }


def _name_has(item: Item, words: set[str]) -> bool:
    return bool(words & set(fold(item.entry.name).split()))


def choose(raw: RawLine, index: CatalogIndex, profile: Profile) -> Choice:
    raw = _respell(raw, index)
    scored = _search(raw, index, profile)
    if not scored or scored[0].query < NOT_CARRIED_BELOW:
        best_q = scored[0].query if scored else 0.0
        return Choice(None, raw.unit, 0.9 - 0.5 * best_q, best_q >= 0.45, (), True)
    best_q = scored[0].query
    group = [s for s in scored if s.query >= best_q - TIE]
    headed = [s for s in group if s.head]
    if headed and len(headed) < len(group):
        # "frangos" with "Frango inteiro" and "Coxas de frango": a name where the word is only the
        # complement ("... de frango") is another product, once one name has it as its noun.
        group = [s for s in group if s.head or not _OF_WORDS & set(fold(s.item.entry.name).split())]
    family = tuple(s.item.sku for s in group)
    # This kitchen's own item, when it explains most of the words, is as good a reading as a closer name
    # it never buys ("tomate para rallar" -> its "Tomate maduro para triturar", not "Pan rallado").
    # But not a sibling of the closer name ("spring mix organic spain" where it buys "... organic chile"): the
    # words the chef wrote beyond the usual item (origin, variety, grade) are what they ask for this time.
    usual = profile.counts  # `sku in profile` without a Python-level __contains__ per candidate
    if not any(s.item.sku in usual for s in group):
        heads = {s.item.words[0] for s in group if s.item.words}
        reach = max(best_q - HISTORY_REACH, 0.5)
        near = [
            s for s in scored
            if s.item.sku in usual and s.query >= reach
            and not (s.item.words and s.item.words[0] in heads)
        ]
        if near:
            group = group + near
    # A word read as talk that some of these SKUs' names hold ("6 fresh mozzarella": FRESH vs LOAF) picks
    # among them; it never brings in another product.
    talk = _talk_words(raw, index.lang) if len(group) > 1 else set()
    if talk:
        named_by_talk = [s for s in group if _name_has(s.item, talk)]
        if 0 < len(named_by_talk) < len(group):
            group = named_by_talk
    # Sizes the chef named ("25#", "115ct", "1-2kg"): keep the SKUs that have them.
    if raw.specs:
        group = _best(group, lambda s: s.spec)
    # The stated unit picks the packing ("3 kg limao" -> per kg, "2 cx" -> the box).
    fits = {s.item.sku: _pack_fit(raw, s.item) for s in group}
    usual_before_pack = [s for s in group if s.item.sku in usual]
    before_pack = group
    group = _best(group, lambda s: min(fits[s.item.sku], 2))
    fit = min(fits[group[0].item.sku], 2)
    in_history = [s for s in group if s.item.sku in usual]
    literal = [s for s in group if fits[s.item.sku] == 3]
    reason = ""
    chosen: Scored | None = None
    candidates: tuple[str, ...] = ()
    if len(group) == 1:
        chosen, reason = group[0], "unique"
    elif len(literal) == 1:
        # "2 seaux de crème": the chef named this SKU's own pack ("seau 5 L", not "pot 1 L").
        chosen, reason = literal[0], "literal"
    elif len(in_history) == 1:
        chosen, reason = in_history[0], "history"
    elif len(in_history) > 1:
        # "one standing SKU of that product ordered at exactly that quantity" (in every past order).
        exact = [
            s for s in in_history
            if profile.counts[s.item.sku] == len(profile.orders) and profile.standing_quantity(s.item.sku, raw.quantity)
        ]
        if len(exact) == 1:
            chosen, reason = exact[0], "history-quantity"
        else:
            named = _best(in_history, _name2)
            second = sorted((s.name for s in in_history), reverse=True)[1]
            if len(named) == 1 and named[0].name >= 0.99 and second <= 0.75:
                chosen, reason = named[0], "history-name"
            else:
                candidates = tuple(s.item.sku for s in in_history)
    else:
        # No history: only a SKU whose whole name the chef wrote ("cebolla" -> "Cebolla", not "Cebolla
        # morada") is taken without asking.
        named = _best(group, _name2)
        second = sorted({_name2(s) for s in group}, reverse=True)
        if len(named) == 1 and named[0].name >= 0.99 and (len(second) < 2 or second[1] <= 0.75):
            chosen, reason = named[0], "name"
        else:
            candidates = tuple(s.item.sku for s in group[:6])
    if chosen is None:
        return Choice(None, _unit_out(raw, group[0].item, profile), 0.3, True, candidates, False, family)
    confidence = {
        "unique": 0.86, "history": 0.95, "history-quantity": 0.9, "history-name": 0.82, "name": 0.82, "literal": 0.88,
    }[
        reason
    ]
    confidence *= 0.3 + 0.7 * chosen.query
    if reason == "unique" and chosen.item.sku in profile:
        confidence = min(1.0, confidence + 0.2)
    if fit < 0:
        confidence *= 0.7
    if raw.unsure:
        confidence = min(confidence, 0.4)
    if usual_before_pack and chosen.item.sku not in profile and _other_product(raw, chosen.item, usual_before_pack, index):
        # "5 lb red cabbage" where it buys the organic one by the bunch: the unit alone picked a SKU that
        # differs from the usual one by a word the chef did not write (grade, origin): ask.
        confidence = min(confidence, REVIEW_BELOW - 0.05)
    elif not usual_before_pack:
        # Worked out only here (most lines have a usual SKU, or were settled above).
        closest_before_pack = _best(before_pack, _name2)
        if chosen not in closest_before_pack and _other_product(raw, chosen.item, closest_before_pack, index):
            # No usual SKU, and the unit picked a SKU with words the chef did not write over one named exactly
            # by their words: another product of the same family, not another packing.
            confidence = min(confidence, REVIEW_BELOW - 0.05)
    if not chosen.head and _unexplained(raw.words, chosen.item, index):
        # "2 cs fancy wash tmato" -> a lemon that is fancy and washed: the product noun the SKU is named by is
        # not among the chef's words, and a word of theirs the catalog does not read is nothing like this
        # SKU's name: likely the product noun, misspelt.
        confidence = min(confidence, REVIEW_BELOW - 0.05)
    return Choice(chosen.item.sku, _unit_out(raw, chosen.item, profile), round(confidence, 3), confidence < REVIEW_BELOW, (chosen.item.sku,) if raw.unsure else (), False, family, reason)


def _unit_out(raw: RawLine, item: Item, profile: Profile | None = None) -> str | None:
    """The unit as the chef said it; a bare count of something sold by weight is `each`, unless this
    kitchen orders that very number of the sale unit ("basilico 1" where it always takes 1 kg)."""
    if raw.kind == "sale_pack":
        return None
    if raw.unit is None:
        if raw.quantity is not None and is_measure(item.sale_unit):
            if profile is not None and profile.ordered_in_sale_unit(item.sku, raw.quantity, item.sale_unit):
                return None
            return "each"
        return None
    return raw.unit
