"""`bot eval intents|faq|pairs DIR`: measure the NLU and the retriever on public datasets;
`bot eval conversations FILE`: measure the whole assistant on our own first questions."""

from __future__ import annotations

import argparse


def _intents(args: argparse.Namespace) -> int:
    from bot.nlu.evaluation import TRAINING_ENV, main_intents
    from bot.settings import apply_quiet_env

    apply_quiet_env(TRAINING_ENV)  # before Rasa loads; it reads its training-cache size from the environment
    return main_intents(args)


def _faq(args: argparse.Namespace) -> int:
    from bot.knowledge.evaluation import main_faq

    return main_faq(args, args.ctx.env)


def _pairs(args: argparse.Namespace) -> int:
    from bot.knowledge.evaluation import main_pairs

    return main_pairs(args, args.ctx.env)


def _conversations(args: argparse.Namespace) -> int:
    from bot.conversation_eval import main_conversations
    from bot.settings import apply_quiet_env

    if args.url is None:  # the assistant starts (and may train) in this process: quiet Rasa and TensorFlow first
        apply_quiet_env()
    settings = args.ctx.settings
    rest_token = args.rest_token if args.rest_token is not None else settings.env.get("CANYU_REST_TOKEN", "")
    return main_conversations(args, settings, rest_token)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("eval", help="evaluate the NLU or the retriever on a dataset, or the assistant on a conversation set")
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

    pc = kinds.add_parser(
        "conversations",
        help="send each item of a conversation set as a first message to the real assistant; share answered right",
    )
    pc.add_argument("file", help="YAML list of items: text, lang, expect, tags (tests/conversations/first_questions.yml)")
    pc.add_argument("--out", default=None, help="folder for report.json (every item with its outcome)")
    pc.add_argument("--model", default=None, help="Rasa model to run (default: models/canyu.tar.gz, trained if stale)")
    pc.add_argument("--url", default=None, help="ask an assistant that is already running (its Rasa URL) instead")
    pc.add_argument("--token", default=None, help="that assistant's Rasa API token (for the tracker)")
    pc.add_argument("--rest-token", default=None, help="its REST channel token (default: CANYU_REST_TOKEN)")
    pc.add_argument("--workers", type=int, default=4, help="messages in flight at once (default 4)")
    pc.set_defaults(func=_conversations)
