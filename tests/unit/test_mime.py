"""MIME decoding: bodies, charsets, auto-replies, attachments and the MIME-bomb precheck (no server)."""

from __future__ import annotations

import base64
import io
import zipfile
from email.message import EmailMessage

import pytest

from chat2order.channels import mime
from chat2order.channels.spreadsheets import order_text, rows_from_xlsx
from tests.helpers.smtp_server import eml


def _message(body: str = "2 cs roma", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Chef <chef@example.org>")
    msg["To"] = "orders+greenleaf@chat2order.local"
    msg["Subject"] = headers.pop("Subject", "order")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def test_plain_text_part_is_preferred_over_html_in_multipart_alternative() -> None:
    content = mime.parse(eml("d0079"))
    assert content.text_source == "plain"
    assert content.text.startswith("Hi Ray,\n\nFor tomorrow:\n- spring mix organic x2")


def test_html_only_body_is_turned_into_text() -> None:
    content = mime.parse(eml("html_only"))
    assert content.text_source == "html"
    assert "  * jalapeños 5#" in content.text.splitlines()
    assert "<" not in content.text


def test_final_newline_is_dropped_once_and_line_endings_normalised() -> None:
    assert mime.normalise("a\r\nb\r\n") == "a\nb"
    assert mime.normalise("a\n\n") == "a\n"


def test_encoded_word_subject_and_display_name_are_decoded() -> None:
    content = mime.parse(eml("d0076"))
    assert content.subject == "Re: Encomenda terça 3/11"
    assert (content.from_name, content.from_address) == ("Inês Duarte", "ines@bistroluz.pt")


def test_iso_8859_1_label_on_utf8_bytes_is_read_as_utf8() -> None:
    text, note = mime.decode_bytes("Crème brûlée".encode(), "iso-8859-1")
    assert text == "Crème brûlée"
    assert note is not None and "utf-8" in note


def test_iso_8859_1_label_is_read_as_windows_1252_for_curly_quotes() -> None:
    text, _ = mime.decode_bytes(b"chef\x92s order \x80 5", "iso-8859-1")
    assert text == "chef’s order € 5"


def test_utf8_label_on_latin1_bytes_falls_back_to_windows_1252() -> None:
    text, note = mime.decode_bytes("Cèpes 1 kg".encode("latin-1"), "utf-8")
    assert text == "Cèpes 1 kg"
    assert note == "data is not utf-8, decoded as windows-1252"


def test_unknown_charset_label_falls_back_without_raising() -> None:
    text, note = mime.decode_bytes("Pâte 3".encode(), "x-unknown-8bit")
    assert text == "Pâte 3"
    assert note is not None and "unknown charset" in note


def test_non_text_codec_named_as_charset_is_not_used() -> None:
    text, note = mime.decode_bytes(b"2 cs roma", "zlib")
    assert text == "2 cs roma"
    assert note is not None


def test_raw_eight_bit_subject_is_decoded_not_replaced() -> None:
    raw = b"From: chef@example.org\r\nSubject: Cr\xe8me fra\xeeche\r\n\r\n2 pots\r\n"
    assert mime.parse(raw).subject == "Crème fraîche"


def test_format_flowed_soft_breaks_are_rejoined() -> None:
    text = "2 cs roma tomatoes and 3 cs \nlemons 115 please\n> quoted line that \n> goes on\n-- \nMaya"
    assert mime.unflow(text, delsp=False) == (
        "2 cs roma tomatoes and 3 cs lemons 115 please\n> quoted line that goes on\n-- \nMaya"
    )


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: order",
        "Automatic reply: Tuesday order",
        "Resposta automática: Encomenda",
        "Fora do escritório",
        "Réponse automatique : Commande",
        "Absence du bureau",
        "Risposta automatica: Ordine",
        "Fuori ufficio fino al 16",
        "Respuesta automática: Pedido",
        "Fuera de la oficina",
    ],
)
def test_out_of_office_subjects_in_five_languages_are_auto_replies(subject: str) -> None:
    assert mime.parse(_message(Subject=subject)).auto_reply == "out-of-office subject"


@pytest.mark.parametrize(
    ("header", "value"),
    [("Auto_Submitted", "auto-replied"), ("Precedence", "bulk"), ("Precedence", "list"), ("X_Autoreply", "yes"),
     ("X_Autorespond", "vacation")],
)
def test_machine_headers_mark_an_auto_reply(header: str, value: str) -> None:
    assert mime.parse(_message(**{header: value})).is_auto_reply


def test_null_envelope_sender_is_an_auto_reply() -> None:
    assert mime.parse(_message(), envelope_sender="<>").auto_reply == "null sender"


def test_delivery_status_notification_is_an_auto_reply() -> None:
    assert mime.parse(eml("bounce"), envelope_sender="bounces@example.org").auto_reply is not None
    no_header = eml("bounce").replace(b"Auto-Submitted: auto-replied\r\n", b"")
    assert mime.parse(no_header).auto_reply == "delivery status notification"


@pytest.mark.parametrize(
    "subject", ["Re: order for tomorrow", "Chef on leave, sous chef ordering", "Absence of basil on Tuesday"]
)
def test_ordinary_orders_and_auto_submitted_no_are_not_auto_replies(subject: str) -> None:
    assert mime.parse(_message(Subject=subject, Auto_Submitted="no")).auto_reply is None


def test_message_id_is_taken_without_angle_brackets_and_long_ones_hashed() -> None:
    assert mime.parse(_message(Message_ID="<abc.123@example.org>")).message_id == "abc.123@example.org"
    long_id = mime.parse(_message(Message_ID=f"<{'x' * 300}@example.org>")).message_id
    assert long_id is not None and long_id.startswith("sha256:")
    assert mime.parse(_message()).message_id is None


def test_attachment_metadata_keeps_only_the_file_name() -> None:
    msg = EmailMessage()
    msg["From"] = "chef@example.org"
    msg.set_content("see attached")
    msg.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="../../etc/invoice.pdf")
    [attachment] = mime.parse(msg.as_bytes()).attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == ("invoice.pdf", "application/pdf", 12)
    assert mime.attachment_bytes(msg.as_bytes(), attachment.index) == b"%PDF-1.4 ..."


def test_order_form_rows_without_quantity_are_skipped() -> None:
    rows = [["Produit", "Qté", "Unité"], ["Beurre doux", "16", "plaquette"], ["Crème", "", ""], ["Oeufs", "0", ""]]
    assert order_text(rows) == "Beurre doux 16 plaquette"


def test_table_without_a_recognised_header_is_read_row_by_row() -> None:
    assert order_text([["roma", "2", "cs"], ["", ""], ["basil", "3"]]) == "roma 2 cs\nbasil 3"


def test_xlsx_attachment_is_read_as_order_lines() -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in (["Prodotto", "Quantità", "Unità"], ["Pomodoro ciliegino", 3, "cassa"], ["Basilico", None, None]):
        sheet.append(row)
    data = io.BytesIO()
    workbook.save(data)
    msg = EmailMessage()
    msg["From"] = "chef@example.org"
    msg.set_content("Ordine in allegato")
    msg.add_attachment(data.getvalue(), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename="ordine.xlsx")
    content = mime.parse(msg.as_bytes())
    assert content.text == "Pomodoro ciliegino 3 cassa\n\nOrdine in allegato"
    assert content.attachments[0].order_text == "Pomodoro ciliegino 3 cassa"


def test_spreadsheet_that_expands_past_the_limit_is_refused() -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 1024 * 1024))
    with pytest.raises(ValueError):
        rows_from_xlsx(data.getvalue())


def test_precheck_accepts_every_fixture() -> None:
    for name in ("d0079", "d0165", "attachment_csv", "bounce", "html_only"):
        assert mime.precheck(eml(name)) is None


def test_precheck_refuses_ten_thousand_parts() -> None:
    raw = b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + b"--b\r\n\r\nx\r\n" * 10_000 + b"--b--\r\n"
    assert "too many MIME parts" in (mime.precheck(raw) or "")


def test_precheck_refuses_deep_nesting() -> None:
    raw = b"".join(b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (i, i) for i in range(300))
    assert "too deep" in (mime.precheck(raw) or "")


def test_raw_with_nul_bytes_is_kept_as_base64() -> None:
    raw = b"Subject: x\r\n\r\n\x00\xff"
    text, encoding = mime.raw_as_text(raw)
    assert encoding == "base64" and base64.b64decode(text) == raw
    assert mime.raw_as_text(b"Subject: caf\xc3\xa9\r\n\r\nx") == ("Subject: café\r\n\r\nx", "utf-8")
