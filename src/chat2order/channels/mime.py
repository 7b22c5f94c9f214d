"""Raw RFC 5322 bytes to `EmailContent`: the text the parser reads, headers that matter, attachments.

Used by the SMTP handler (`channels/smtp.py`) after its cheap checks. Never raises on odd input: mislabelled
or 8-bit charsets fall back (declared charset, then UTF-8, then a detector, then Windows-1252), headers the
modern parser chokes on are read raw. The one refusal is `precheck`, which rejects MIME bombs before any
parsing by counting boundaries instead of building thousands of part objects.
"""

from __future__ import annotations

import base64
import codecs
import email
import email.header
import email.policy
import email.utils
import hashlib
import re
import textwrap
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Any

from chat2order.channels.spreadsheets import is_sheet, order_text_from_attachment

# Real mail has a handful of parts and 3-4 levels; these are far above that and far below a bomb.
MAX_DELIMITER_LINES = 1000
MAX_MULTIPART_DECLARATIONS = 64
# inscriptis is linear but not free; an HTML body larger than this is cut before conversion.
MAX_HTML_CHARS = 2_000_000
MAX_PROVIDER_ID = 200

_SINGLE_BYTE = {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso8859-1", "windows-1252", "cp1252"}

_OOO_SUBJECT = re.compile(
    r"""\b(out\ of\ (the\ )?office|automatic\ reply|auto[-\ ]?reply|autoresponse|away\ from\ (the\ )?office
    |vacation\ reply
    |resposta\ autom[aá]tica|fora\ do\ escrit[oó]rio|aus[eê]ncia\ tempor[aá]ria|ausente\ do\ escrit[oó]rio
    |r[eé]ponse\ automatique|absence\ du\ bureau|absent\ du\ bureau|message\ d'absence
    |risposta\ automatica|fuori\ (sede|ufficio)|assente\ dall'ufficio
    |respuesta\ autom[aá]tica|fuera\ de\ la\ oficina|ausente\ de\ la\ oficina)\b""",
    re.IGNORECASE | re.VERBOSE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^(undeliver(able|ed)|delivery status notification|mail delivery (failed|failure)|returned mail"
    r"|failure notice|delivery failure|non remis|não entregue|mensaje no entregado|messaggio non recapitato)",
    re.IGNORECASE,
)
_DAEMON_LOCALPARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


@dataclass(frozen=True)
class Attachment:
    """One attached file as metadata; its bytes stay in the stored raw message (found again by `index`)."""

    index: int  # position among the message's leaf parts (`Message.walk()` order, leaves only)
    filename: str | None
    content_type: str
    size: int
    sha256: str
    order_text: str = ""  # order lines read from a CSV or spreadsheet, "" otherwise

    def to_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "index": self.index,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }
        if self.order_text:
            meta["order_lines"] = self.order_text.count("\n") + 1
        return meta


@dataclass(frozen=True)
class EmailContent:
    """What a received email says, decoded. `text` is the parser's input."""

    message_id: str | None
    subject: str
    from_address: str
    from_name: str
    text: str
    text_source: str  # "plain", "html", "attachment" or "none"
    date: str | None = None
    in_reply_to: str | None = None
    reply_to: str = ""
    attachments: tuple[Attachment, ...] = ()
    auto_reply: str | None = None  # why it looks machine-sent (never answered), None for a person's mail
    notes: tuple[str, ...] = field(default=())  # charset fallbacks, truncations: for the person who looks

    @property
    def is_auto_reply(self) -> bool:
        return self.auto_reply is not None


def precheck(raw: bytes) -> str | None:
    """Why this message is refused before parsing (a MIME bomb), or None.

    Counts are upper bounds (a "--" line or the word "boundary" in plain text counts too), found with
    `bytes.count` (about 15 ms for 10 MB): boundary lines bound the number of parts, boundary
    declarations bound the number of nested multiparts.
    """
    delimiters = raw.count(b"\n--") + raw.startswith(b"--")
    if delimiters > MAX_DELIMITER_LINES:
        return f"too many MIME parts ({delimiters} boundary lines, limit {MAX_DELIMITER_LINES})"
    declarations = raw.lower().count(b"boundary")
    if declarations > MAX_MULTIPART_DECLARATIONS:
        return f"MIME structure too deep or wide ({declarations} multiparts, limit {MAX_MULTIPART_DECLARATIONS})"
    return None


def parse(raw: bytes, *, envelope_sender: str | None = None) -> EmailContent:
    """Decode a message. Call `precheck` first; this trusts the structure to be of sane size."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    notes: list[str] = []
    body_parts: list[Message] = []
    text, source = _body_text(msg, notes, body_parts)
    attachments = _attachments(msg, body_parts, notes)
    sheet_text = "\n".join(a.order_text for a in attachments if a.order_text)
    if sheet_text:
        # The attached order goes first: clean-up drops what follows a sign-off, never what precedes it.
        text = f"{sheet_text}\n\n{text}" if text else sheet_text
        source = source if source != "none" else "attachment"
    from_name, from_address = _first_address(header(msg, "From"))
    subject = header(msg, "Subject")
    return EmailContent(
        message_id=message_id(msg),
        subject=subject,
        from_address=from_address,
        from_name=from_name,
        text=text,
        text_source=source,
        date=_iso_date(header(msg, "Date")),
        in_reply_to=_angle_id(header(msg, "In-Reply-To")),
        reply_to=_first_address(header(msg, "Reply-To"))[1],
        attachments=tuple(attachments),
        auto_reply=auto_reply_reason(msg, subject, envelope_sender),
        notes=tuple(notes),
    )


# --- headers -------------------------------------------------------------------------------------------


def header(msg: Message, name: str) -> str:
    """A header's decoded value ("" if absent), never raising on malformed or 8-bit headers."""
    raw_value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)  # type: ignore[attr-defined]
    if isinstance(raw_value, str) and any("\udc80" <= ch <= "\udcff" for ch in raw_value):
        # Raw 8-bit header (no encoded-words): the modern parser would turn every such byte into U+FFFD.
        return " ".join(repair(raw_value).split())
    try:
        value = msg.get(name)
        text = "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - the modern header parser has corner cases that raise; read raw
        if raw_value is None:
            return ""
        try:
            text = str(email.header.make_header(email.header.decode_header(raw_value)))
        except Exception:  # noqa: BLE001 - undecodable encoded-words: keep the raw text
            text = str(raw_value)
    return " ".join(repair(text).split())


def message_id(msg: Message) -> str | None:
    return _angle_id(header(msg, "Message-ID"))


def _angle_id(value: str) -> str | None:
    match = re.search(r"<([^<>\s]+)>", value)
    ident = match.group(1) if match else value.strip()
    if not ident:
        return None
    if len(ident) > MAX_PROVIDER_ID:
        return "sha256:" + hashlib.sha256(ident.encode()).hexdigest()
    return ident


def _first_address(value: str) -> tuple[str, str]:
    for name, address in email.utils.getaddresses([value]):
        if "@" in address:
            return name, address.strip().lower()
    return "", ""


def _iso_date(value: str) -> str | None:
    try:
        return email.utils.parsedate_to_datetime(value).isoformat() if value else None
    except (TypeError, ValueError, IndexError):
        return None


# --- auto-replies and bounces --------------------------------------------------------------------------


def auto_reply_reason(msg: Message, subject: str, envelope_sender: str | None) -> str | None:
    """Why the message was sent by a machine (never answer it: mail loops), or None."""
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return "null sender"
    auto_submitted = header(msg, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    precedence = header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autogenerated", "X-Failed-Recipients"):
        if header(msg, name):
            return f"{name} header"
    if msg.get_content_type() == "multipart/report" or any(
        part.get_content_type() in ("message/delivery-status", "message/disposition-notification")
        for part in msg.walk()
    ):
        return "delivery status notification"
    local = _first_address(header(msg, "From"))[1].partition("@")[0]
    if local in _DAEMON_LOCALPARTS or _BOUNCE_SUBJECT.search(subject):
        return "delivery status notification"
    if _OOO_SUBJECT.search(subject):
        return "out-of-office subject"
    return None


# --- bodies --------------------------------------------------------------------------------------------


def _body_text(msg: EmailMessage, notes: list[str], body_parts: list[Message]) -> tuple[str, str]:
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    body_parts.extend(p for p in (plain, html) if p is not None)
    if plain is not None:
        text = decode_part(plain, notes)
        if (plain.get_param("format") or "").lower() == "flowed":
            text = unflow(text.replace("\r\n", "\n"), delsp=(plain.get_param("delsp") or "").lower() == "yes")
        return normalise(text), "plain"
    if html is not None:
        markup = decode_part(html, notes)
        if len(markup) > MAX_HTML_CHARS:
            notes.append(f"HTML body cut to {MAX_HTML_CHARS} characters before conversion")
            markup = markup[:MAX_HTML_CHARS]
        return normalise(html_to_text(markup)), "html"
    return "", "none"


def html_to_text(markup: str) -> str:
    """HTML as a person reads it (block elements on their own lines), by inscriptis."""
    from inscriptis import get_text

    lines = [line.rstrip() for line in get_text(markup).splitlines()]
    text = textwrap.dedent("\n".join(lines)).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def decode_part(part: Message, notes: list[str]) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    text, note = decode_bytes(data, part.get_content_charset())
    if note:
        notes.append(note)
    return text


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Text from bytes whatever the label says; the second value explains a fallback (None when clean)."""
    charset = (declared or "").strip().lower() or None
    if charset in _SINGLE_BYTE or charset is None:
        if data.isascii():
            return data.decode("ascii"), None
        try:
            # Valid multi-byte UTF-8 is almost never accidental Latin-1: the label is wrong.
            text = data.decode("utf-8")
            return text, f"declared {charset or 'no charset'}, decoded as utf-8"
        except UnicodeDecodeError:
            # Mail clients that say ISO-8859-1 mean Windows-1252 (curly quotes, euro sign), as browsers assume.
            note = None if charset in _SINGLE_BYTE else "no charset, decoded as windows-1252"
            return data.decode("cp1252", errors="replace"), note
    try:
        codecs.lookup(charset)
        return data.decode(charset), None
    except LookupError:
        reason = f"unknown charset {charset!r}"
    except UnicodeDecodeError:
        reason = f"data is not {charset}"
    except Exception:  # noqa: BLE001 - a codec that is not a text encoding, or one that misbehaves
        reason = f"unusable charset {charset!r}"
    try:
        return data.decode("utf-8"), f"{reason}, decoded as utf-8"
    except UnicodeDecodeError:
        # Our five languages are Western European, where 8-bit mail is Windows-1252; a statistical detector
        # guesses Central European cp1250 on short texts ("Crčme"), so we do not ask one.
        return data.decode("cp1252", errors="replace"), f"{reason}, decoded as windows-1252"


def normalise(text: str) -> str:
    """Line endings to \\n and the final newline dropped (the form the bench's `text` has)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text.removesuffix("\n")


def unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed: rejoin soft-broken lines (trailing space) of the same quote depth."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0

    def emit(depth: int, line: str) -> None:
        out.append(f"{'>' * depth} {line}".rstrip(" ") if depth else line)

    for raw_line in text.split("\n"):
        depth = len(raw_line) - len(raw_line.lstrip(">"))
        line = raw_line[depth:]
        line = line.removeprefix(" ")  # space-stuffing (or the space after the quote marks)
        if pending is not None and depth != pending_depth:
            emit(pending_depth, pending)
            pending = None
        joined = line if pending is None else pending + line
        if line.endswith(" ") and line != "-- ":
            pending, pending_depth = (joined[:-1] if delsp else joined), depth
        else:
            emit(depth, joined)
            pending = None
    if pending is not None:
        emit(pending_depth, pending)
    return "\n".join(out)


# --- attachments ---------------------------------------------------------------------------------------


def _attachments(msg: EmailMessage, body_parts: list[Message], notes: list[str]) -> list[Attachment]:
    found: list[Attachment] = []
    leaves = [part for part in msg.walk() if not part.is_multipart()]
    for index, part in enumerate(leaves):
        if any(part is body for body in body_parts):
            continue
        content_type = part.get_content_type()
        filename = _filename(part)
        if content_type in ("text/plain", "text/html") and not filename and not part.is_attachment():
            continue  # an extra inline text piece (signature, footer), not a file
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        order_text = ""
        if is_sheet(filename, content_type):
            order_text, note = order_text_from_attachment(data, filename, content_type, part.get_content_charset())
            if note:
                notes.append(note)
        found.append(
            Attachment(
                index=index,
                filename=filename,
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                order_text=order_text,
            )
        )
    return found


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a malformed RFC 2231 name is just no name
        return None
    if not name:
        return None
    # Keep only the last path component: a filename is a label here, never a path.
    return repair(str(name)).replace("\\", "/").rsplit("/", 1)[-1][:255] or None


def attachment_bytes(raw: bytes, index: int) -> bytes:
    """The decoded bytes of the attachment at `index` (`Attachment.index`) of a stored raw message."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    leaves = [part for part in msg.walk() if not part.is_multipart()]
    payload = leaves[index].get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


# --- text safety ---------------------------------------------------------------------------------------


def repair(text: str) -> str:
    """Undo surrogate-escaped raw bytes (8-bit headers) and drop NULs, so PostgreSQL can store it."""
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        data = text.encode("utf-8", errors="surrogateescape")
        text = decode_bytes(data, None)[0]
    return text.replace("\x00", "")


def raw_as_text(raw: bytes) -> tuple[str, str]:
    """The raw message as storable text and how to get the bytes back: ("utf-8" | "base64")."""
    if b"\x00" not in raw:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii"), "base64"
