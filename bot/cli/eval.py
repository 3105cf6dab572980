"""`bot eval intents|faq|pairs DIR`: measure the NLU and the retriever on public datasets."""

from __future__ import annotations

import argparse


def _intents(args: argparse.Namespace) -> int:
    from bot.nlu.evaluation import main_intents

    return main_intents(args)


def _faq(args: argparse.Namespace) -> int:
    from bot.knowledge.evaluation import main_faq

    return main_faq(args)


def _pairs(args: argparse.Namespace) -> int:
    from bot.knowledge.evaluation import main_pairs

    return main_pairs(args)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("eval", help="evaluate the NLU or the retriever on a dataset folder")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True

    pi = kinds.add_parser("intents", help="train on train.csv, tune on valid.csv, report on test.csv")
    pi.add_argument("dir", help="folder with train.csv, optional valid.csv, test.csv (columns text,label)")
    pi.add_argument("--config", default="config.yml", help="Rasa config with the pipeline to evaluate")
    pi.add_argument(
        "--valid",
        choices=["tune", "train"],
        default="tune",
        help="tune: valid.csv only tunes thresholds (default); train: it joins the training data "
        "(oos rows as out_of_scope examples) and the classifier tunes on its own folds",
    )
    pi.add_argument("--baseline", choices=["diet"], help="also run Rasa's default DIET pipeline on the same split")
    pi.add_argument("--epochs", type=int, default=None, help="DIET epochs for the baseline (bounds its time)")
    pi.add_argument("--out", default=None, help="report folder (default: reports/eval-intents-<dataset>)")
    pi.set_defaults(func=_intents)

    pf = kinds.add_parser("faq", help="FAQ retrieval: kb.csv + queries.csv")
    pf.add_argument("dir")
    pf.add_argument("--out", default=None)
    pf.set_defaults(func=_faq)

    pp = kinds.add_parser("pairs", help="question pairs: pairs.csv (text1,text2,label)")
    pp.add_argument("dir")
    pp.add_argument("--out", default=None)
    pp.set_defaults(func=_pairs)
