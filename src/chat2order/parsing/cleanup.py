"""Message clean-up: keep what the chef wrote now, without quoted history, signature, greeting and sign-off.

Email bodies carry the earlier conversation (Gmail/Apple/Thunderbird "On ... wrote:" headers in five
languages, Outlook "From:/Sent:" blocks, "> " lines, forwarded messages) and a signature whose street
numbers and phone numbers would otherwise read as quantities. `clean` cuts them off and returns what is
left to read; when the new text asks to repeat or add the quoted order ("repeat the order below", "can you
add these"), the cleaned quoted text is appended and `included_quote` is set. The language data (header
forms, sign-offs, greetings, repeat cues) lives in `models/cleanup/markers.toml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from chat2order.parsing._langdata import LANGUAGES, load

# A quantity with a unit: a line after a sign-off that has one is still the order, not a signature.
_QUANTITY = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:kg|g|lb|lbs|#|cs|cx|case|cases|bags?|sacks?|sacs?|sacos?|sacchi|colis|casse|cajas?"
    r"|bunch(?:es)?|molhos?|mazzi|manojos?|x)(?!\w)",
    re.IGNORECASE,
)
_BLANK_LINES = re.compile(r"\n{3,}")
_AMOUNT = re.compile(r"\d\s*(?:kg|g|lb|cs|cx|x)\b", re.IGNORECASE)
# A greeting line that is only a name and a comma or bang ("Joe,", "Dean Smith!").
_NAME_ONLY = re.compile(r"[^\W\d_][\w.'-]*(?:\s+[^\W\d_][\w.'-]*)?\s*[,!]")


@dataclass(frozen=True)
class Cleaned:
    text: str  # what to read: the new text (plus the quoted order when asked to repeat or add it)
    quoted: str  # the quoted / forwarded part that was removed ("" if none)
    included_quote: bool  # the quoted part was kept as order text


@dataclass(frozen=True)
class _Patterns:
    reply_end: re.Pattern[str]
    reply_start: re.Pattern[str]
    separator: re.Pattern[str]
    from_field: re.Pattern[str]
    sent_field: re.Pattern[str]
    header_field: re.Pattern[str]
    include: re.Pattern[str]
    sent_from: re.Pattern[str]
    sig_separator: re.Pattern[str]
    signoff_line: re.Pattern[str]
    signoff_tail: re.Pattern[str]
    contact: re.Pattern[str]
    address: re.Pattern[str]
    role: re.Pattern[str]
    postscript: re.Pattern[str]
    greeting_line: re.Pattern[str]
    greeting_prefix: re.Pattern[str]


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def _words(words: list[str]) -> str:
    # Longest first so "many thanks" wins over "thanks"; entries may carry small regex pieces.
    return "|".join(sorted(words, key=len, reverse=True))


def _words_by_letter(words: list[str]) -> str:
    """`_words(words)` with its alternatives grouped by first letter, each group keeping their order
    ("t(?:hanks so much|hank you|...)|m(?:any thanks|...)|...").

    Alternatives that start with different letters (none a case variant of another) cannot both match at
    one position, so the grouping matches what the flat alternation matches, with the same priority; but
    under IGNORECASE the engine tries each alternative in full, and grouped it tries one per letter.
    Falls back to the flat alternation when an entry does not start with a plain lower-case letter."""
    ordered = sorted(words, key=len, reverse=True)
    if not all(w[:1].isalpha() and w[:1].islower() for w in ordered):
        return "|".join(ordered)
    groups: dict[str, list[str]] = {}
    for w in ordered:
        groups.setdefault(w[0], []).append(w[1:])
    letters = list(groups)
    if any(re.fullmatch(a, b, re.IGNORECASE) for a in letters for b in letters if a != b):
        return "|".join(ordered)
    return "|".join(f"{letter}(?:{'|'.join(rest)})" for letter, rest in groups.items())


@cache
def _patterns() -> _Patterns:
    data = load("cleanup", "markers")
    quote, sig, sal = data["quote"], data["signature"], data["salutation"]
    include = [p for lang in LANGUAGES for p in quote["include"].get(lang, [])]
    signoffs = _words_by_letter(sig["signoffs"])
    greetings = _words_by_letter(sal["greetings"])
    # A name after a sign-off or greeting: one to three words without digits ("Priya", "Sr. Carlos").
    # Names are capitalised ("Thanks, Priya"), so "Thanks for yesterday." is not a sign-off line.
    word = r"(?-i:[A-ZÀ-ÖØ-Þ])[\w'&-]*"
    name = rf"(?:(?:sr|sra|dr|mr|mrs|ms|mme|sig|sig\.ra)\.\s*)?{word}(?:\s+{word}){{0,2}}"
    return _Patterns(
        reply_end=_any(quote["reply_header_end"]),
        reply_start=_any(quote["reply_header_start"]),
        separator=_any(quote["separators"]),
        from_field=_any(quote["from_field"]),
        sent_field=_any(quote["sent_field"]),
        header_field=_any(quote["header_fields"]),
        include=_any(include),
        sent_from=_any(sig["sent_from"]),
        sig_separator=re.compile(sig["separator"]),
        signoff_line=re.compile(
            rf"^(?:{signoffs})\b(?:\s+(?:{signoffs})\b)?\s*[!.,:;…–-]*\s*(?:{name})?\s*[!.,]*\s*\W{{0,4}}$",
            re.IGNORECASE,
        ),
        signoff_tail=re.compile(
            rf"(?:^|[.!?,;:\s\W])\s*(?:{signoffs})\b\s*[!.,:;…–-]*\s*(?:{name})?\s*[!.,]*[^\w]{{0,6}}$",
            re.IGNORECASE,
        ),
        contact=_any(sig["contact_line"]),
        address=re.compile(rf"(?:^|\s)(?:{_words(sig['address_words'])})(?=\s|,|$)", re.IGNORECASE),
        role=re.compile(rf"(?:^|[\s|,–-])(?:{_words(sig['role_words'])})(?=\s|,|$|\|)", re.IGNORECASE),
        postscript=re.compile(sig["postscript"], re.IGNORECASE),
        greeting_line=re.compile(
            rf"^(?:{greetings})\b(?:\s+(?:{name}))?\s*[!.,:;]*\s*[^\w\s]{{0,6}}$",
            re.IGNORECASE,
        ),
        greeting_prefix=re.compile(
            rf"^(?:{greetings})\b(?:\s+(?:{name}))?\s*(?:[!.,:;]+|\s*[^\w\s]+\s)\s*",
            re.IGNORECASE,
        ),
    )


def clean(text: str, channel: str = "sms", locale: str = "en-US") -> Cleaned:
    """Split `text` into what the chef wrote now and the quoted history; see the module docstring.

    `channel` and `locale` are accepted for the contract; every rule applies to all channels and languages
    because chefs paste mail into chats and mix languages.
    """
    p = _patterns()
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").split("\n")
    cut = _quote_start(lines, p)
    new_lines, quoted_lines = lines[:cut], lines[cut:]
    quoted_lines, bottom = _split_bottom_post(quoted_lines, p)
    new_lines = new_lines + bottom
    # Stray "> " lines above any header are quotes too (bottom-posted or partial quotes).
    kept: list[str] = []
    for line in new_lines:
        (quoted_lines if line.lstrip().startswith(">") else kept).append(line)
    if cut == len(lines) and quoted_lines:
        quoted_lines = [line for line in lines if line.lstrip().startswith(">")]
    new_text = _strip_own_text(kept, p)
    quoted = "\n".join(quoted_lines).strip()
    included = False
    if quoted and p.include.search(new_text):
        body = _unquote(quoted_lines, p)
        quoted_clean = _strip_own_text(body.split("\n"), p)
        if quoted_clean:
            new_text = f"{new_text}\n\n{quoted_clean}".strip()
            included = True
    return Cleaned(text=new_text, quoted=quoted, included_quote=included)


def _quote_start(lines: list[str], p: _Patterns) -> int:
    """Index of the first line of quoted or forwarded history, or len(lines)."""
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith(">"):
            continue
        if p.separator.search(line):
            return i
        if p.from_field.search(line) and any(
            p.sent_field.search(nxt.strip()) for nxt in lines[i + 1 : i + 5]
        ):
            return i
        if p.reply_start.search(line):
            # Gmail wraps long headers: "On Mon, ... Maya Okafor <\nmaya@x.com> wrote:".
            joined = line
            for extra in range(3):
                if p.reply_end.search(joined) and len(joined) < 400:
                    return i
                if i + 1 + extra >= len(lines):
                    break
                joined = f"{joined} {lines[i + 1 + extra].strip()}"
    return len(lines)


def _split_bottom_post(quoted_lines: list[str], p: _Patterns) -> tuple[list[str], list[str]]:
    """A reply written below a "> " quote ("On ... wrote:", "> old", then the new text) keeps its new text."""
    body = [line for line in quoted_lines[1:] if line.strip()]
    if not body or not body[0].lstrip().startswith(">"):
        return quoted_lines, []
    last = max(i for i, line in enumerate(quoted_lines) if line.lstrip().startswith(">"))
    tail = quoted_lines[last + 1 :]
    if any(line.strip() for line in tail) and _quote_start(tail, p) == len(tail):
        return quoted_lines[: last + 1], tail
    return quoted_lines, []


def _unquote(quoted_lines: list[str], p: _Patterns) -> str:
    """The quoted block as plain text: "> " marks, the reply header and header fields removed."""
    out: list[str] = []
    for raw in quoted_lines:
        line = raw.strip()
        while line.startswith(">"):
            line = line[1:].strip()
        if p.separator.search(line) or p.header_field.search(line):
            continue
        if p.reply_start.search(line) and p.reply_end.search(line):
            continue
        out.append(line)
    text = "\n".join(out)
    # A wrapped reply header left its tail ("maya@x.com> wrote:") on the next line.
    return re.sub(
        r"^.*(?:wrote|escreveu|a écrit|ha scritto|escribió)\s*:\s*$",
        "",
        text,
        flags=re.MULTILINE | re.IGNORECASE,
    )


def _strip_own_text(lines: list[str], p: _Patterns) -> str:
    """Drop "Sent from" lines, the signature, the closing sign-off and the opening greeting."""
    lines = [line.rstrip() for line in lines if not p.sent_from.search(line.strip())]
    for i, line in enumerate(lines):
        if p.sig_separator.match(line.strip()):
            lines = lines[:i]
            break
    lines = _cut_signoff(lines, p)
    lines = _drop_trailing_signature(lines, p)
    lines = _drop_greeting(lines, p)
    text = "\n".join(lines).strip()
    return _BLANK_LINES.sub("\n\n", text)


def _cut_signoff(lines: list[str], p: _Patterns) -> list[str]:
    """Cut from a sign-off line ("Thanks,", "Obrigada!", "Un saludo,") to the end, keeping a PS."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    if len(content) < 2:
        return _cut_signoff_tail(lines, p)
    for i in content[1:]:
        if p.signoff_line.match(lines[i].strip()) and not any(
            _QUANTITY.search(rest) for rest in lines[i + 1 :]
        ):
            rest = lines[i + 1 :]
            ps_at = next((j for j, line in enumerate(rest) if p.postscript.match(line.strip())), None)
            return lines[:i] + ([""] + rest[ps_at:] if ps_at is not None else [])
    return _cut_signoff_tail(lines, p)


def _cut_signoff_tail(lines: list[str], p: _Patterns) -> list[str]:
    """A one-line message ending in "... Merci ! Margot" or "Thanks, Priya": drop that tail."""
    for i in range(len(lines) - 1, -1, -1):
        if not lines[i].strip():
            continue
        m = p.signoff_tail.search(lines[i])
        if m and m.start() > 0:
            lines = lines[:i] + [lines[i][: m.start() + 1].rstrip(" ,;")]
        break
    return lines


def _is_name_line(line: str) -> bool:
    words = line.replace("|", " ").split()
    return (
        0 < len(words) <= 5
        and not any(ch.isdigit() for ch in line)
        and all(w[0].isupper() or not w[0].isalpha() for w in words)
    )


def _signature_like(line: str, p: _Patterns) -> bool:
    s = line.strip()
    return bool(
        p.contact.search(s)
        or "|" in s
        or (p.address.search(s) and not _AMOUNT.search(s))
        or (p.role.search(s) and not re.search(r"\d", s))
        or _is_name_line(s)
    )


def _drop_trailing_signature(lines: list[str], p: _Patterns) -> list[str]:
    """A last paragraph made only of name / role / address / phone lines is a signature without a sign-off."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    start = len(lines)
    while start > 0 and lines[start - 1].strip():
        start -= 1
    block = [line for line in lines[start:] if line.strip()]
    if start > 0 and block and all(_signature_like(line, p) for line in block):
        has_contact = any(p.contact.search(line.strip()) or p.address.search(line) for line in block)
        if has_contact or len(block) <= 3:
            return lines[:start]
    # Lone phone / e-mail lines at the very end are never order lines.
    while lines and (not lines[-1].strip() or p.contact.search(lines[-1].strip())):
        lines = lines[:-1]
    return lines


def _drop_greeting(lines: list[str], p: _Patterns) -> list[str]:
    """Drop the opening greeting: a whole line ("Hi Dean,", "Bom dia!", "Joe,") or a prefix ("Bonsoir Karim, ")."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return lines
    line = lines[first].strip()
    if p.greeting_line.match(line) or _NAME_ONLY.fullmatch(line):
        if any(other.strip() for other in lines[first + 1 :]):
            return lines[first + 1 :]
        return lines
    m = p.greeting_prefix.match(line)
    if m and m.end() < len(line):
        return lines[:first] + [line[m.end() :]] + lines[first + 1 :]
    return lines
