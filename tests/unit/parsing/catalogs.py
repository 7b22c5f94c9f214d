"""Small made-up catalogs and histories for the parser tests (no dev benchmark data)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chat2order.parsing.index import CatalogIndex
from chat2order.parsing.model import CatalogEntry, ParseContext, PastLine, PastOrder

PRODUCE_US = [
    ("T-PLUM-CS", "TOMATO PLUM 25#", "25 lb case", "case"),
    ("T-PLUM-LB", "TOMATO PLUM", "per lb", "lb"),
    ("T-BEEF-CS", "TOMATO BEEFSTEAK 20#", "20 lb case", "case"),
    ("T-CHERRY", "TOMATO CHERRY 12/1PT", "12 x 1 pint flat", "flat"),
    ("ON-RED-25", "ONION RED 25#", "25 lb sack", "bag"),
    ("ON-RED-10", "ONION RED 10#", "10 lb bag", "bag"),
    ("ON-WHT-50", "ONION WHITE 50#", "50 lb sack", "bag"),
    ("LIM-110", "LIME 110CT", "110 ct case", "case"),
    ("LIM-175", "LIME 175CT", "175 ct case", "case"),
    ("LEM-140", "LEMON 140CT", "140 ct case", "case"),
    ("AVO-40", "AVOCADO HASS 40CT", "40 ct case", "case"),
    ("CUC-ENG", "CUCUMBER ENGLISH 12CT", "12 ct case", "case"),
    ("PARS-FL", "PARSLEY FLAT LEAF", "bunch", "bunch"),
    ("BUT-UNS", "BUTTER UNSALTED 1#", "1 lb", "lb"),
    ("MILK-GAL", "MILK WHOLE 4/1GAL", "4/1 GAL", "case"),
    ("EGG-XL", "EGGS EXTRA LARGE 15DZ", "15 dozen case", "case"),
]

LEGUMES_PT = [
    ("P-101", "Cenoura", "kg", "kg"),
    ("P-102", "Cenoura", "saco 10 kg", "bag"),
    ("P-201", "Pera rocha", "kg", "kg"),
    ("P-301", "Salsa", "molho", "bunch"),
    ("P-401", "Alho francês", "kg", "kg"),
    ("P-501", "Ovos classe M", "dúzia", "dozen"),
    ("P-601", "Limão", "kg", "kg"),
    ("P-602", "Limão", "cx 8 kg", "case"),
]

PRIMEUR_FR = [
    ("F-1", "Poireau", "kg", "kg"),
    ("F-2", "Carotte", "sac 10 kg", "bag"),
    ("F-3", "Courgette verte", "kg", "kg"),
    ("F-4", "Cerfeuil", "botte", "bunch"),
    ("F-5", "Beurre doux plaquette 250g", "plaquette 250 g", "each"),
    ("F-6", "Fraise gariguette", "barquette 250 g", "flat"),
]

ORTO_IT = [
    ("I-1", "Melanzana tonda", "kg", "kg"),
    ("I-2", "Basilico genovese", "mazzo", "bunch"),
    ("I-3", "Zucchina romanesca", "kg", "kg"),
    ("I-4", "Patate rosse", "sacco 10 kg", "bag"),
]

FRUTAS_ES = [
    ("E-1", "Naranja de zumo", "caja 15 kg", "case"),
    ("E-2", "Pimiento rojo", "kg", "kg"),
    ("E-3", "Pimiento verde", "kg", "kg"),
    ("E-4", "Cilantro", "manojo", "bunch"),
    ("E-5", "Calabacín", "kg", "kg"),
]


def index(rows: list[tuple[str, str, str, str]], language: str) -> CatalogIndex:
    return CatalogIndex.build([CatalogEntry(s, n, p, u, Decimal("1.00")) for s, n, p, u in rows], language=language)


def past(when: str, *lines: tuple[str, float, str | None]) -> PastOrder:
    return PastOrder(
        dt.datetime.fromisoformat(when), tuple(PastLine(s, Decimal(str(q)), u) for s, q, u in lines)
    )


def context(
    idx: CatalogIndex | None,
    locale: str = "en-US",
    history: tuple[PastOrder, ...] = (),
    received_at: str = "2026-03-10T21:30:00-05:00",
) -> ParseContext:
    return ParseContext(idx, history, locale, dt.datetime.fromisoformat(received_at), "sms")
