"""The trainer's actions on inbox groups, shared by `bot review` and the console's trainer page.

- `groups()`: sync the inbox from the event stream and group the open items (biggest first), optionally
  only those with given reasons (`bot.trainer.inbox.REASONS`);
- `recent_answers()` / `mark_wrong()`: the last knowledge answers; a trainer marks one wrong (reason `marked_wrong`);
- `assign()`: add the items' texts as examples of an intent (YAML in `intents/`), close them;
- `draft_kb()`: write a KB entry draft with the questions (`knowledge/drafts/`), close them;
- `dismiss()`: close them for good;
- `retrain_and_reload()`: train (`bot.training.train`) and load the new model into a running Rasa.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bot.errors import DataError, RasaUnavailable
from bot.language import has_cjk
from bot.rasa_client import RasaClient
from bot.redaction import redact
from bot.trainer.cluster import group_items
from bot.trainer.config import load_config
from bot.trainer.inbox import REASONS, Inbox

__all__ = ["Review", "DRAFTS_DIR"]

DRAFTS_DIR = os.path.join("knowledge", "drafts")


class Review:
    """Inbox + grouping + edits for the project at `repo_root`."""

    def __init__(self, redis: Any, repo_root: str, config: Optional[Dict[str, Any]] = None) -> None:
        self.repo_root = os.path.abspath(repo_root)
        self.config = config or load_config(self.repo_root)
        review = self.config["review"]
        self.inbox = Inbox(redis, low_confidence=float(review["low_confidence"]),
                           rephrase_similarity=float(review.get("rephrase_similarity", 0.5)))

    def groups(self, sync: bool = True, limit: int = 2000,
               reasons: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
        """Open items grouped by meaning, biggest group first; with `reasons`, only items having one of them."""
        if reasons:
            unknown = sorted(set(reasons) - set(REASONS))
            if unknown:
                raise DataError(f"unknown reason(s) {', '.join(unknown)}; use {', '.join(REASONS)}")
        if sync:
            self.inbox.sync()
        items = self.inbox.open_items(limit=limit, reasons=reasons)
        return group_items(items, threshold=float(self.config["review"]["cluster_threshold"]))

    def recent_answers(self, limit: int = 30, sync: bool = True) -> List[Dict[str, Any]]:
        """The last knowledge answers (newest first) with their question and the reasons already filed."""
        if sync:
            self.inbox.sync()
        return self.inbox.recent_answers(limit)

    def mark_wrong(self, answer_id: str, by: str = "trainer", note: str = "") -> Dict[str, Any]:
        """File the answer's question as `marked_wrong` (by the trainer); returns the item."""
        self.inbox.sync()
        return self.inbox.mark_wrong(answer_id, by, note)

    def _items(self, item_ids: Sequence[str]) -> List[Dict[str, Any]]:
        items = [self.inbox.get(i) for i in item_ids]
        missing = [i for i, item in zip(item_ids, items, strict=True) if item is None]
        if missing:
            raise DataError(f"unknown review item(s) {', '.join(missing)}; reload the inbox")
        return [i for i in items if i is not None]

    def known_intents(self) -> List[str]:
        from bot.trainer.domain_index import index_domain

        return sorted(index_domain(self.repo_root, []).intents)

    def assign(self, item_ids: Sequence[str], intent: str, by: str = "trainer") -> Dict[str, Any]:
        """Add the items as examples of `intent`; return {file, diff, added}."""
        from bot.trainer.yaml_writer import add_examples

        intents = self.known_intents()
        if intents and intent not in intents:
            raise DataError(f"intent '{intent}' is not in the domain (responses/); pick one of: {', '.join(intents)}")
        items = self._items(item_ids)
        rel, diff, added = add_examples(self.repo_root, intent, [i["text"] for i in items])
        self.inbox.close(item_ids, f"assigned:{intent}", by)
        return {"file": rel, "diff": diff, "added": added}

    def draft_kb(self, item_ids: Sequence[str], by: str = "trainer") -> Dict[str, Any]:
        """Write a KB entry draft holding the questions; the trainer writes the zh/en answers."""
        items = self._items(item_ids)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        zh = [i["text"] for i in items if has_cjk(i["text"])]
        en = [i["text"] for i in items if not has_cjk(i["text"])]
        slug = re.sub(r"[^a-z0-9]+", "-", (en[0] if en else "entry").lower()).strip("-")[:40] or "entry"
        entry_id = f"draft-{stamp}-{slug}"

        def _q(texts: List[str]) -> str:
            return "".join(f"        - {_quote(t)}\n" for t in texts) if texts else "        []\n"

        body = (
            f"# KB draft from the review inbox ({len(items)} question(s), {time.strftime('%Y-%m-%d')}, by {by}).\n"
            "# Write both answers (voice.md: answer first, short, concrete), set `products`, then move the entry\n"
            "# into a file in knowledge/faq/ (drafts are not loaded).\n"
            "faq:\n"
            f"  - id: {entry_id}\n"
            "    products: []\n"
            "    tags: [from-review]\n"
            "    questions:\n"
            f"      zh:\n{_q(zh)}"
            f"      en:\n{_q(en)}"
            "    answer:\n"
            "      zh: \"\"  # TODO\n"
            "      en: \"\"  # TODO\n"
        )
        folder = Path(self.repo_root) / DRAFTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{entry_id}.yml"
        path.write_text(body, encoding="utf-8")
        self.inbox.close(item_ids, "drafted", by)
        return {"file": os.path.relpath(path, self.repo_root), "id": entry_id}

    def dismiss(self, item_ids: Sequence[str], by: str = "trainer") -> int:
        return self.inbox.dismiss(item_ids, by)

    def retrain_and_reload(self, rasa_url: Optional[str] = None, token: Optional[str] = None,
                           out: Optional[Path] = None) -> Dict[str, Any]:
        """Train from the repo data (skips when unchanged), then `PUT /model` on the running Rasa server."""
        from bot.training import train

        result = train(home=Path(self.repo_root), out=out)
        reloaded = False
        if rasa_url:
            _reload(rasa_url, token, str(result.model))
            reloaded = True
        return {"model": str(result.model), "trained": result.trained, "seconds": round(result.seconds, 1),
                "reloaded": reloaded}


def _reload(rasa_url: str, token: Optional[str], model: str) -> None:
    """Load `model` into the running Rasa; the error says where the new model is and what Rasa did."""
    try:
        asyncio.run(RasaClient(rasa_url, token).replace_model(model))
    except RasaUnavailable as exc:
        if exc.code is None:
            # cause dropped: the message restates the cause (its detail and the Rasa URL)
            raise RasaUnavailable(f"the new model is at {model}, but Rasa at {rasa_url} did not answer "
                                  f"({exc.detail}); is it running?", detail=exc.detail) from None
        # cause dropped: the cause quotes Rasa's answer unredacted; the message redacts the token
        raise RasaUnavailable(f"Rasa at {rasa_url} refused the new model {model}: HTTP {exc.code} "
                              f"{redact(exc.detail[:200], [token or ''])}", code=exc.code, detail=exc.detail) from None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
