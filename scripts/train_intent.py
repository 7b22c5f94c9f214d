"""Train a small spaCy text classifier for intent and compare it with the rules of `parsing.intent`.

    .venv/bin/python scripts/train_intent.py [--eval ../shared/bench/dev] [--out DIR]

Trains a blank multilingual pipeline with a bag-of-words `textcat` on `fixtures/intent/train.jsonl`
(sentences we wrote), reports 5-fold cross-validated accuracy on those sentences for the classifier and for
the rules, and, with `--eval DATASET`, the intent accuracy per locale of both on a benchmark folder's
messages (cleaned with `parsing.cleanup.clean`; the gold is read only to score). The model is written to
`--out` only when asked: the rules measured better (see `models/intent/README.md`), so none is shipped.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path

import spacy
from spacy.training import Example

from chat2order.parsing.cleanup import clean
from chat2order.parsing.intent import classify

ROOT = Path(__file__).resolve().parents[1]

LABELS = ("order", "other")


def load_sentences(path: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["text"], row["label"]) for row in rows]


def train(sentences: list[tuple[str, str]], epochs: int = 25, seed: int = 7) -> spacy.language.Language:
    spacy.util.fix_random_seed(seed)
    nlp = spacy.blank("xx")
    textcat = nlp.add_pipe(
        "textcat",
        config={
            "model": {
                "@architectures": "spacy.TextCatBOW.v3",
                "exclusive_classes": True,
                "ngram_size": 2,
                "no_output_layer": False,
                "length": 262144,
            }
        },
    )
    for label in LABELS:
        textcat.add_label(label)
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": {lab: float(lab == label) for lab in LABELS}})
        for text, label in sentences
    ]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in spacy.util.minibatch(examples, size=8):
            nlp.update(batch, sgd=optimizer, drop=0.2)
    return nlp


def predict(nlp: spacy.language.Language, text: str) -> str:
    cats = nlp(text).cats
    return max(cats, key=cats.get)


def cross_validate(sentences: list[tuple[str, str]], folds: int = 5) -> tuple[float, float]:
    shuffled = sentences[:]
    random.Random(1).shuffle(shuffled)
    model_ok = rules_ok = 0
    for k in range(folds):
        test = shuffled[k::folds]
        train_part = [s for i, s in enumerate(shuffled) if i % folds != k]
        nlp = train(train_part)
        model_ok += sum(predict(nlp, text) == label for text, label in test)
        rules_ok += sum(classify(text).intent == label for text, label in test)
    return model_ok / len(sentences), rules_ok / len(sentences)


def evaluate_dataset(nlp: spacy.language.Language, dataset: Path) -> None:
    with open(dataset / "suppliers.csv", encoding="utf-8") as fh:
        locales = {row["supplier_id"]: row["locale"] for row in csv.DictReader(fh)}
    gold = {
        row["id"]: row["intent"]
        for row in map(json.loads, (dataset / "gold.jsonl").read_text(encoding="utf-8").splitlines())
    }
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in (dataset / "messages.jsonl").read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        locale = locales[message["supplier"]]
        text = clean(message["text"], message["channel"], locale).text
        row = totals[locale]
        row[0] += 1
        row[1] += predict(nlp, text) == gold[message["id"]]
        row[2] += classify(text, locale).intent == gold[message["id"]]
    print(f"{'locale':8} {'n':>4} {'textcat':>8} {'rules':>8}")
    for locale, (n, model_ok, rules_ok) in sorted(totals.items()):
        print(f"{locale:8} {n:4d} {model_ok / n:8.3f} {rules_ok / n:8.3f}")
    n = sum(r[0] for r in totals.values())
    print(
        f"{'all':8} {n:4d} {sum(r[1] for r in totals.values()) / n:8.3f} {sum(r[2] for r in totals.values()) / n:8.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "fixtures" / "intent" / "train.jsonl")
    parser.add_argument("--eval", type=Path, help="a benchmark dataset folder to score both on")
    parser.add_argument("--out", type=Path, help="write the trained pipeline here")
    args = parser.parse_args()
    sentences = load_sentences(args.data)
    model_cv, rules_cv = cross_validate(sentences)
    print(f"{len(sentences)} sentences; 5-fold accuracy: textcat {model_cv:.3f}, rules {rules_cv:.3f}")
    nlp = train(sentences)
    if args.eval:
        evaluate_dataset(nlp, args.eval)
    if args.out:
        nlp.to_disk(args.out)
        print(f"model written to {args.out}")


if __name__ == "__main__":
    main()
