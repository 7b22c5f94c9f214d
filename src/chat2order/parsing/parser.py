"""`parse(text, context) -> ParsedOrder`: the whole reading of one message. Pure: no I/O, no clock.

Clean-up (quotes, signatures) -> delivery date and intent -> repeated orders from history ("the usual",
"same as last friday") -> item segments -> each segment read (quantity, unit, product words) -> SKU
chosen (catalog, pack, history) -> edits applied on the repeated order ("without", "double", "instead
of") -> lines with confidence.

Inputs longer than MAX_CHARS raise `ParseError` (a real order is a few hundred characters; a 20,000
character body is a mail loop or an attachment pasted as text and goes to a person).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from chat2order.errors import ParseError
from chat2order.parsing import cleanup, dates, grammar, intent, lines, nlp, picks, segment
from chat2order.parsing.history import Profile
from chat2order.parsing.model import ParseContext, ParsedLine, ParsedOrder, PastLine
from chat2order.parsing.resolve import REVIEW_BELOW, choose
from chat2order.parsing.units import decimal, fold

MAX_CHARS = 20_000
TRUST_OTHER = 0.8  # the intent classifier's "other" wins over found lines from this confidence
_QUANTITY_FIRST = re.compile(r"^\s*(?:\d|[½¼¾])")


@dataclass
class _Draft:
    """A line being built; base lines come from history, others from the text."""

    text: str
    sku: str | None
    quantity: float | None
    unit: str | None
    confidence: float
    needs_review: bool
    candidates: tuple[str, ...] = ()
    not_carried: bool = False
    product: str = ""
    from_history: bool = False
    raw: lines.RawLine | None = None
    family: tuple[str, ...] = ()

    def freeze(self) -> ParsedLine:
        return ParsedLine(
            text=self.text,
            sku=self.sku,
            quantity=decimal(self.quantity) if self.quantity is not None else None,
            unit=self.unit,
            confidence=round(self.confidence, 3),
            needs_review=self.needs_review,
            candidates=self.candidates,
            not_carried=self.not_carried,
            product=self.product,
        )


def _history_lines(past: list[PastLine], source: str) -> list[_Draft]:
    return [
        _Draft(source, p.sku, float(p.quantity), p.unit, 0.9, False, product=p.sku, from_history=True) for p in past
    ]


def _repeat_base(folded: str, lang: str, context: ParseContext, profile: Profile) -> tuple[list[_Draft], list[tuple[int, int]]]:
    """Lines of a repeated order and the text spans that asked for it."""
    spans: list[tuple[int, int]] = []
    base: list[_Draft] = []
    pattern = grammar.same_as_pattern(lang)
    received = context.received_at.date() if context.received_at else None
    if pattern is not None and received is not None:
        for m in pattern.finditer(folded):
            day = None
            days = grammar.weekdays(lang)
            for word in re.findall(r"[a-z]+", m.group(0)):
                if word in days:
                    day = days[word]
            if day is None:
                continue
            past = profile.on_weekday(day, received)
            if past:
                base = _history_lines(past, m.group(0))
                spans.append(m.span())
                break
    if not base:
        m = grammar.phrases("usual", lang).search(folded)
        later = grammar.phrases("later", lang)
        if m is not None:
            start = max(folded.rfind(".", 0, m.start()), folded.rfind("\n", 0, m.start())) + 1
            if later.search(folded[start : m.start()]):
                # "X will send the usual tonight, but add ...": the usual is another message.
                return base, spans
            standing = profile.standing()
            if standing:
                base = _history_lines(standing, m.group(0))
                spans.append(m.span())
    return base, spans


def _named_skus(index: object, words: list[str], keep: set[str]) -> set[str]:
    """SKUs an edit names ("sans les cèpes", "nn mandare le patate ne ho ancora"): the best reading of the
    first words after the cue, so the rest of the sentence does not dilute the match."""
    best: list = []  # type: ignore[type-arg]
    for k in range(1, min(len(words), 4) + 1):
        hits = index.search(words[:k], keep=keep)  # type: ignore[attr-defined]
        # On a tie the longer reading wins: "niente olio di arachide" names the peanut oil, not every oil.
        if hits and (not best or hits[0].query >= best[0].query):
            best = hits
    if not best or best[0].query < 0.5:
        return set()
    return {s.item.sku for s in best if s.query >= best[0].query - 0.08}


def _asks_repeat(fseg: str, lang: str) -> bool:
    pattern = grammar.same_as_pattern(lang)
    return bool(grammar.phrases("usual", lang).search(fseg) or (pattern is not None and pattern.search(fseg)))


def _product_of_question(seg: str, lang: str) -> list[str]:
    """Product words of a segment with no quantity ("avez-vous des coings en ce moment")."""
    raw = lines.read(seg, lang)
    if raw.quantity is not None or raw.unsure or len(raw.words) > 5:
        return []
    return raw.words


def _draft(raw: lines.RawLine, index: object, profile: Profile) -> _Draft:
    if index is None:
        unit = raw.unit if raw.kind != "sale_pack" else None
        return _Draft(raw.text, None, raw.quantity, unit, 0.5, True, product=raw.product, raw=raw)
    choice = choose(raw, index, profile)  # type: ignore[arg-type]
    # "2 de manitas": the unit was left unsaid, not a count of pieces of a by-weight product.
    unit = None if raw.elided_unit and choice.unit == "each" else choice.unit
    sku, confidence, review, candidates = choice.sku, choice.confidence, choice.needs_review, choice.candidates
    if sku is not None and not review and picks.unasked_variant(raw, sku, index):
        # "2 cs coke" read as DIET COKE: the variant was not asked for; a person checks.
        confidence, review = min(confidence, REVIEW_BELOW - 0.05), True
    if sku is None and len(candidates) > 1 and not choice.not_carried:
        plain = [c for c in candidates if not picks.unasked_variant(raw, c, index)]
        if len(plain) == 1:
            # "schweppes tonic" between the tonic and the slimline one: the one the chef named, no variant.
            sku, confidence, review, candidates = plain[0], max(confidence, REVIEW_BELOW), False, ()
    single = picks.single_of_packings(raw, candidates, index)
    if single is not None and sku is None:
        # "10 hamburguesas" where they come by the box of 20 and by the piece: a bare count is pieces.
        sku, confidence, review, candidates, unit = single, max(confidence, REVIEW_BELOW), False, (), None
    return _Draft(
        raw.text,
        sku,
        raw.quantity,
        unit,
        confidence,
        review or raw.unsure,
        candidates,
        choice.not_carried,
        raw.product,
        raw=raw,
        family=choice.family,
    )


def _same_item(draft: _Draft, sku: str | None, candidates: tuple[str, ...]) -> bool:
    return draft.sku is not None and (draft.sku == sku or draft.sku in candidates)


def parse(text: str, context: ParseContext) -> ParsedOrder:
    """Read one message into an order (or `other`) against the supplier's catalog and the kitchen's history."""
    if text is None:
        text = ""
    if len(text) > MAX_CHARS:
        raise ParseError(f"message is {len(text)} characters; the parser reads at most {MAX_CHARS}")
    locale = context.locale or "en-US"
    lang = nlp.language_of(locale)
    cleaned = cleanup.clean(text, context.channel or "sms", locale)
    body = cleaned.text or ""
    received = context.received_at
    delivery = dates.delivery_date(body, received, locale) if received is not None else None
    guess = intent.classify(body, locale)
    index = context.index
    read_lang = index.lang if index is not None else lang
    profile = Profile.of(tuple(context.history))
    folded = fold(body)

    base, spans = _repeat_base(folded, lang, context, profile) if index is not None else ([], [])
    times_text = ""
    if base and spans:
        # "usual x2 for everything": the whole repeated order times the factor.
        # "usual x1.5 on the beef": only the lines of that product.
        m_times = re.match(
            r"\s*(?:x|×)\s*(\d+(?:[.,]\d+)?)(?:\s+(?:for|on|of|de|du|di|sur|en|no|na|em)\s+(?:the\s+|le\s+|la\s+|les\s+|o\s+|a\s+|il\s+|el\s+)?([^\W\d_]+))?",
            folded[spans[0][1] :],
        )
        if m_times:
            times_text = folded[spans[0][0] : spans[0][1] + m_times.end()]
            factor = float(m_times.group(1).replace(",", "."))
            target = m_times.group(2)
            scope: set[str] | None = None
            if target and target not in ("everything", "all", "tout", "tutto", "todo", "tudo") and index is not None:
                hits = index.search([target], keep={b.sku for b in base if b.sku})
                scope = {h.item.sku for h in hits if h.query >= 0.5}
            for b in base:
                if b.quantity is not None and (scope is None or b.sku in scope):
                    b.quantity *= factor
    without = grammar.phrases("without", lang)
    double = grammar.phrases("double", lang)
    instead = grammar.phrases("instead", lang)
    conditional = grammar.phrases("conditional", lang)
    withdrawn = grammar.phrases("withdrawn", lang)
    swap = grammar.swap_pattern(lang)

    correction = grammar.phrases("correction", lang)
    removed_words: list[set[str]] = []
    segs = segment.segments(body, read_lang)
    new: list[_Draft] = []
    replaced: list[tuple[_Draft, float]] = []  # a line said "instead of N", and that N
    i = 0
    while i < len(segs):
        seg = segs[i]
        i += 1
        fseg = fold(seg)
        if withdrawn.search(fseg):
            # "(no, eso es del otro proveedor)" on its own cancels the line before it.
            alone = lines.read(seg, read_lang)
            if alone.quantity is None and new and not new[-1].from_history and i >= 2:
                new.pop()
            continue
        m_corr = correction.search(fseg)
        if m_corr is not None and m_corr.start() <= 2 and new and new[-1].raw is not None:
            # "... no wait sorry, regular carrots, the 10# bag", "1 molho... digo 2": the correction and the
            # pieces after it that are not items of their own amend the previous line.
            text = seg[_orig_pos(seg, fseg, m_corr.end()) :]
            while i < len(segs):
                nxt = lines.read(segs[i], read_lang)
                if nxt.words and nxt.quantity is not None:
                    break
                text += " " + segs[i]
                i += 1
                if nxt.quantity is not None:
                    break
            fixed = lines.read(text, read_lang)
            prev_raw = new[-1].raw
            if fixed.quantity is None and not fixed.unsure:
                fixed.quantity, fixed.unit, fixed.kind = prev_raw.quantity, prev_raw.unit, prev_raw.kind
            elif fixed.unit is None and fixed.kind is None and not fixed.words:
                fixed.unit, fixed.kind = prev_raw.unit, prev_raw.kind
            if not fixed.words:
                fixed.words = list(prev_raw.words)
            elif index is not None:
                hits = index.search(fixed.words)
                if not hits or hits[0].query < 0.6:
                    # "anzi un sacco intero": the correction changes the amount, the product stays.
                    fixed.words = list(prev_raw.words) + fixed.words
            new.pop()
            new.append(_draft(fixed, index, profile))
            continue
        coded = picks.quoted_codes(seg, index, read_lang) if index is not None else []
        if coded:
            # "ref 230024 x3": the chef quoted the supplier's own item code.
            for piece, code_sku, code_raw in coded:
                code_unit = code_raw.unit if code_raw.kind != "sale_pack" else None
                new.append(_Draft(piece, code_sku, code_raw.quantity, code_unit, 0.95, code_raw.quantity is None, product=code_sku, raw=code_raw))
            continue
        m_swap = swap.search(fseg) if swap is not None and base and index is not None else None
        if m_swap is not None:
            # "the usual but swap the fever tree for schweppes tonic": the named repeated line goes, the other
            # comes, with the old line's amount unless one is given.
            old_raw = lines.read(m_swap.group("old"), read_lang)
            gone = _named_skus(index, old_raw.words, {b.sku for b in base if b.sku}) if old_raw.words else set()
            if gone:
                old_lines = [b for b in base if b.sku in gone]
                base = [b for b in base if b.sku not in gone]
                new_raw = lines.read(seg[_orig_pos(seg, fseg, m_swap.start("new")) :], read_lang)
                if new_raw.words:
                    if new_raw.quantity is None and not new_raw.unsure and len(old_lines) == 1:
                        new_raw.quantity, new_raw.unit, new_raw.kind = old_lines[0].quantity, old_lines[0].unit, None
                    new.append(_draft(new_raw, index, profile))
                continue
        m_without = without.search(fseg)
        borrowed = False
        raw = lines.read(seg, read_lang, count_sizes=index.specs if index is not None else None)
        if base and times_text and times_text.strip() in fseg:
            # "usual x2 for everything": the factor was applied to the repeated order; not an item.
            continue
        if not raw.words and raw.quantity is not None and new and new[-1].raw is not None and new[-1].raw.unsure:
            # "monkfish tail 1-2kg, 4kg": the size range was not the quantity; this is.
            fixed = lines.read(f"{new[-1].raw.text} - {seg}", read_lang)
            if fixed.words and fixed.quantity is not None:
                new[-1] = _draft(fixed, index, profile)
                continue
        prev_words = (
            _product_of_question(segs[i - 2], read_lang)
            if i >= 2 and not without.search(fold(segs[i - 2]))
            else []
        )
        if not raw.words and raw.quantity is not None and prev_words:
            # "¿tenéis caracoles? Si hay, 2 kg": the product is in the question before (its catalog words
            # when it has some: "running low on butter, can u add 24 lb").
            known = [w for w in prev_words if index is not None and index.expand(w)]
            raw.words = known or prev_words
            borrowed = True
        if not raw.words and raw.specs and base and index is not None:
            # "the usual with 60s": each repeated line in that size, where the catalog has it.
            for b in base:
                item = index.by_sku.get(b.sku or "")
                if item is None:
                    continue
                hits = index.search(list(item.words), raw.specs)
                if hits and hits[0].spec > 0 and hits[0].item.sku != b.sku and hits[0].query >= 0.99:
                    b.sku = hits[0].item.sku
            continue
        if not raw.words:
            continue
        if m_without is not None and (raw.quantity is None or m_without.start() < 6) and (base or cleaned.included_quote):
            # "sans les cèpes", "but no roma": drop the matching line of the repeated order.
            rest = fseg[m_without.end() :]
            rest_raw = lines.read(rest, read_lang)
            if rest_raw.words:
                # "but no Peroni this time": only the words the catalog knows name what goes.
                known = [w for w in rest_raw.words if index is not None and index.expand(w)]
                removed_words.append({fold(w) for w in known or rest_raw.words})
            if rest_raw.words and index is not None:
                skus = _named_skus(index, rest_raw.words, {b.sku for b in base if b.sku})
                base = [b for b in base if b.sku not in skus]
            continue
        if m_without is not None and raw.quantity is None:
            continue
        if double.search(fseg) and base and index is not None and raw.quantity is None:
            # "double slaw and potatoes": each named item of the repeated order, twice.
            skus: set[str] = set()
            for part in re.split(r"\s+(?:and|e|et|y|&|,)\s+|,\s*", fseg[double.search(fseg).end() :]):
                part_raw = lines.read(part, read_lang)
                if part_raw.words:
                    skus |= _named_skus(index, part_raw.words, {b.sku for b in base if b.sku})
            for b in base:
                if b.sku in skus and b.quantity is not None:
                    b.quantity *= 2
            continue
        if base and raw.quantity is None and raw.specs and index is not None and not raw.unsure:
            # "the usual with aguacate 60": the same product of the repeated order, in the size named.
            choice = choose(raw, index, profile)
            for b in base:
                if choice.sku and b.sku in choice.family and b.sku != choice.sku and not choice.needs_review:
                    b.sku = choice.sku
            continue
        if raw.quantity is None and not raw.unsure:
            continue
        m_instead = instead.search(fseg)
        old_quantity = None
        if m_instead is not None and m_instead.start() > 0:
            old_quantity = lines.read(fseg[m_instead.end() :], read_lang).quantity
            raw = lines.read(seg[: _orig_pos(seg, fseg, m_instead.start())], read_lang)
            if not raw.words:
                continue
        draft = _draft(raw, index, profile)
        if old_quantity is not None:
            replaced.append((draft, old_quantity))
        if raw.quantity is None and not raw.unsure:
            # "frangos em vez de 40" cut off its number: the line is named, how much is not.
            draft.needs_review = True
        if draft.not_carried and prev_words and index is not None and not index.search(raw.words):
            # "se me olvidó el limón, puedes traer 5 kg?": none of these words is a product; the one
            # before is.
            raw.words = [w for w in prev_words if index.expand(w)] or prev_words
            borrowed = True
            draft = _draft(raw, index, profile)
        if borrowed and draft.sku is not None:
            # The product came from another sentence: a reading, not something the chef wrote on the line.
            draft.confidence *= 0.85
            draft.needs_review = draft.needs_review or draft.confidence < REVIEW_BELOW
        if draft.not_carried and (not raw.numeric or raw.kind is None or len(raw.words) > 4 or guess.intent == "other"):
            # Not a catalog item and not written like one ("we still have a case", "credit this one"):
            # chit-chat, not an order line. Unless it stands as an item of a list ("2 AP" between "4 bread
            # flour" and "2 cs eggs"): then it is an item nobody read, and a person must see it.
            listed = raw.numeric and guess.intent == "order" and 0 < len(raw.words) <= 2 and _listed(seg, segs)
            # "mezzo kg di pinoli", "uno zampone se lo avete": a weight, or an ask on stock, is an item the
            # catalog lacks, not talk; a person sees it.
            asked = guess.intent == "order" and 0 < len(raw.words) <= 2 and (
                raw.kind == "measure" or conditional.search(fseg) is not None
            )
            if not (listed or asked):
                continue
            draft.needs_review, draft.confidence = True, min(draft.confidence, 0.5)
        elif draft.sku is not None and draft.sku not in profile and conditional.search(fseg) is not None:
            # "half a dozen limes if you do them": the chef doubts it is stocked, and what was found is
            # nothing this kitchen has had (lime cordial): a person checks.
            draft.needs_review, draft.confidence = True, min(draft.confidence, REVIEW_BELOW - 0.05)
        new.append(draft)

    # "repeat the order below, but 8 kg instead of 5": the quoted line with the old quantity goes.
    for d_new, q_old in replaced:
        new = [
            d for d in new
            if d is d_new or d.sku is None or d.sku != d_new.sku or d.quantity is None or abs(d.quantity - q_old) > 1e-9
        ]
    # Lines the text names replace the same SKU of the repeated order ("4 cs limes instead of 3").
    if removed_words:
        # "repete a encomenda abaixo, mas sem a flor de sal": the repeated (quoted) lines lose it too.
        new = [
            d for d in new
            if not (d.raw is not None and d.raw.words and any(r <= {fold(w) for w in d.raw.words} for r in removed_words))
        ]
    base_skus = {b.sku for b in base}
    for d in new:
        if d.sku is None and d.candidates and base_skus:
            # "same as last thurs but 4 cs potatoes": the repeated order says which potatoes.
            inter = [c for c in d.candidates if c in base_skus]
            if len(inter) == 1:
                # Likely, not certain ("o costume ... e 3 kg pimento" may be the other pepper): ask.
                d.sku, d.needs_review, d.confidence = inter[0], True, 0.7
        if d.sku is None:
            base = [b for b in base if b.sku not in set(d.candidates)]
            continue
        if d.sku in base_skus:
            # "lo de siempre pero 8 kg de merluza": that line changes; "Kokotxas de merluza", which read as
            # well, stays.
            base = [b for b in base if b.sku != d.sku]
            continue
        family = set(d.family) | {d.sku}
        base = [b for b in base if b.sku not in family]
    drafts = base + new
    if guess.intent == "other" and guess.confidence >= TRUST_OTHER:
        final_intent = "other"
    elif drafts or (guess.intent == "order" and guess.confidence >= TRUST_OTHER):
        final_intent = "order"
    else:
        final_intent = "other"
    if final_intent == "other":
        drafts = []
    return ParsedOrder(
        intent=final_intent,  # type: ignore[arg-type]
        lines=tuple(d.freeze() for d in drafts),
        delivery_date=delivery,
        language=lang,
        cleaned_text=body,
        intent_confidence=guess.confidence,
    )


def _listed(seg: str, segs: list[str]) -> bool:
    """`seg` is one item of a list: it starts with its quantity, and so do most of the other items."""
    starts = [bool(_QUANTITY_FIRST.match(s)) for s in segs]
    return bool(_QUANTITY_FIRST.match(seg)) and len(segs) >= 3 and sum(starts) >= 0.6 * len(segs)


def _orig_pos(seg: str, fseg: str, pos: int) -> int:
    """Position in `seg` of a position in its folded form (folding keeps length for Latin text)."""
    return min(pos, len(seg)) if len(seg) == len(fseg) else len(seg)


__all__ = ["MAX_CHARS", "REVIEW_BELOW", "Decimal", "dt", "parse"]
