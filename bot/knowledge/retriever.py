"""The product knowledge retriever: question in, a decided outcome out.

`Retriever.ask(question)` returns a `Result` with one of three outcomes, chosen by the
thresholds in `knowledge/config.yml`:

- "answer": confident; `text` is the answer (an FAQ entry or a spec sentence);
- "suggest": a close call; `candidates` holds 2-3 entries for "did you mean …?";
- "unsure": nothing fits well enough, or the question names a product we do not have.

The ranking fuses phrasings, answers, words and an entry model (`entry_model.py`), calibrated on the KB itself.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, List, Optional, Sequence

import numpy as np

from bot.knowledge._arrays import Floats
from bot.knowledge.answering import AnsweringConfig, asks_question, load_answering
from bot.knowledge.brands import brands_named, not_brand_terms, other_brand
from bot.knowledge.calibration import (
    Calibrator as _Calibrator,
    calib_features as _calib_features,
    calibrate_scores,
    languages as _langs,
)
from bot.knowledge.catalog import (
    answer_catalog,
    asked_category_products,
    category_products,
    names_unmade_kind,
    unmade_kind,
)
from bot.knowledge.config import RetrieverConfig
from bot.knowledge.cues import load_cues
from bot.knowledge.entry_model import SURE, EntryModel
from bot.knowledge.facts import kb_docs, render_fact
from bot.knowledge.fillers import strip_fillers
from bot.knowledge.homophones import HomophoneFixer
from bot.knowledge.index import HybridIndex
from bot.knowledge.loader import FaqEntry, KnowledgeBase
from bot.knowledge.multi import asks_unsaid
from bot.knowledge.out_of_scope import OutOfScope
from bot.knowledge.part_prices import names_part, unpriced_parts
from bot.knowledge.parts import ask_parts, by_clause
from bot.knowledge.products import Mentions, ProductMatcher
from bot.knowledge.result import Candidate, Result
from bot.knowledge.roles import Roles, asks_without, mentions_what_is_done_without, speaks_of_absence
from bot.knowledge.service import fee_spoken_of, service_reading
from bot.knowledge.spec_words import excluded
from bot.knowledge.specs import SPEC_KEYWORDS, answer_spec, detect_spec, missing_spec, names_spec, unheld_spec
from bot.knowledge.synonyms import load_code_switch, load_synonyms
from bot.knowledge.terms import NovelWords, fix_swaps, kb_texts, novel_nouns, spelled, unknown_terms, vocabulary
from bot.knowledge.text import has_cjk
from bot.knowledge.zh_pairs import PairScorer, load_zh_similarity
from bot.language import detect_language

__all__ = ["Candidate", "Result", "Retriever", "kb_docs", "calibrate_scores", "HEDGE_LEAD"]

HEDGE_LEAD = 0.8
"""A hedged answer's entry must be this much ahead: the next candidate's confidence at most this share of it."""

_OFF_PRODUCT_PENALTY = 4.0  # z-units: an entry about another product is effectively filtered out
_ON_PRODUCT_BOOST = 0.5


class Retriever:
    """Answers questions from one loaded knowledge base with one built index."""

    def __init__(self, kb: KnowledgeBase, index: HybridIndex, encoder: Any, config: RetrieverConfig) -> None:
        self.kb = kb
        self.index = index
        self.encoder = encoder
        self.config = config
        self.matcher = ProductMatcher(kb.products)
        self.answering: AnsweringConfig = load_answering(kb.root, list(kb.faq))
        self.roles = Roles(self.answering.other_brands)  # "充电宝能给华为手机快充吗": what ours is used with
        self.cues = load_cues(kb.root, list(kb.faq), index.ids)  # "想寄修 流程是啥": how repairs work (bot/knowledge/cues.py)
        self._docs = {d.id: d for d in index.docs}
        self._entry_products = [set(d.meta.get("products") or []) for d in index.docs]
        self._entry_tags = [set(d.meta.get("tags") or []) for d in index.docs]
        self._is_spec = np.asarray([d.id.startswith("spec:") for d in index.docs], np.float32)
        clean, phrasings = kb_texts(index.docs, kb.products)
        self._vocabulary = vocabulary(clean + phrasings)
        self._spelled = spelled(clean, phrasings)  # typos are fixed towards these (bot.knowledge.terms)
        self._spelled_words = spelled(clean, phrasings, joined=False)
        self._kb_zh = "\n".join(t for t in clean + phrasings if has_cjk(t))  # for words it never uses (novel_nouns)
        self._homophones = HomophoneFixer(self._kb_zh)  # "点池多大": its nouns typed with a homophone
        self._synonyms = load_synonyms(kb.root, clean + phrasings)  # "电话卡": the KB says "SIM卡"
        self._code_switch = load_code_switch(kb.root, clean + phrasings)  # "14pro的camera咋样": 相机
        self._novel_words = NovelWords(self._vocabulary)
        negatives = [q for qs in kb.out_of_scope.values() for q in qs]
        asked = np.asarray([index.docs[d].meta.get("kind", "faq") == "faq" for d in index.phrase_doc], bool)
        # Chinese queries are also compared phrasing by phrasing by the pair model (bot/knowledge/zh_pairs.py)
        self.pairs = PairScorer.for_index(index, load_zh_similarity(kb.root))
        # "账号密码忘了": no entry answers it (bot/knowledge/out_of_scope.py)
        self.out_of_scope = OutOfScope.fit(index, encoder, {lang: [*qs, *kb.near_misses.get(lang, [])]
                                                            for lang, qs in kb.out_of_scope.items()})
        # "我两个号…能同时插上用吗": a model fitted on all phrasings of an entry at once (bot/knowledge/entry_model.py)
        self.entry_model = EntryModel.for_index(index, [*negatives, *(q for qs in kb.near_misses.values() for q in qs)],
                                                encoder, config.entry_model_weight, config.entry_model_alpha)
        self.calibrator = _Calibrator.fit(index, self._adjust_many, negatives, encoder, asked=asked,
                                          extra=self.pairs.boost if self.pairs else None, model=self.entry_model)

    @property
    def fingerprint(self) -> str:
        return self.kb.fingerprint

    def _adjust(self, scores: Floats, mentions: Mentions, text: str = "") -> Floats:
        if text and excluded(text):  # a how-to, a fault, how a battery ages ("充电宝会不会伤电池"): no spec figure answers it
            scores = scores - _OFF_PRODUCT_PENALTY * self._is_spec
        if not mentions.known:
            return scores
        named = set(mentions.known)
        # an entry about exactly the products named, when several are ("14跟14pro差在哪": the comparison), twice
        both = len(named) >= 2
        adj = np.array([0.0 if not prods else (_ON_PRODUCT_BOOST * (2 if both and prods == named else 1)
                                               if prods & named else -_OFF_PRODUCT_PENALTY)
                        for prods in self._entry_products], np.float32)
        return scores + adj

    def _adjust_many(self, texts: Sequence[str], scores: Floats) -> Floats:
        return np.vstack([self._adjust(scores[i], self.matcher.find(t), t) for i, t in enumerate(texts)])

    def entry(self, entry_id: str) -> Optional[FaqEntry]:
        return self.kb.faq.get(entry_id)

    def answer_entry(self, entry_id: str, language: str, reason: str = "chosen by the user",
                     question: str = "") -> Optional[Result]:
        """The answer of one entry by id (a "did you mean" button was pressed, a topic's overview, a hedged answer);
        a product fact is rendered for `question` when there is one (the activity asked about)."""
        e = self.kb.faq.get(entry_id)
        if e is None:
            fact = render_fact(self.kb, entry_id, question, language)
            if fact is None:
                return None
            kind, text, products = fact
            return Result(outcome="answer", language=language, confidence=1.0, entry_id=entry_id, text=text,
                          kind=kind, products=products, reason=reason)
        return Result(outcome="answer", language=language, confidence=1.0, entry_id=e.id,
                      text=e.answer.get(language) or e.answer.get("en"), reason=reason, offer=e.offer)

    def question_label(self, entry_id: str, language: str) -> str:
        e = self.kb.faq.get(entry_id)
        if e is None:
            doc = self._docs.get(entry_id)
            phrasings = [q for q in (doc.questions if doc else []) if (language == "zh") == has_cjk(q)]
            return phrasings[0] if phrasings else entry_id
        qs = e.questions.get(language) or e.questions.get("en") or [entry_id]
        return qs[0]

    def ask(self, question: str, language: Optional[str] = None, intent: Optional[str] = None,
            intent_confidence: float = 0.0) -> Result:
        """Decide how to answer `question` (language: of the question, else `language`, else en).

        `intent` and `intent_confidence` (the NLU's) weigh in through the intent's topic in
        `knowledge/config.yml` `answering:` (see `bot.knowledge.answering`)."""
        start = time.perf_counter()
        question = self._code_switch.apply(question)  # "does the 14 pro come with a 充电器" is English
        lang = detect_language(question) or language or "en"
        question = strip_fillers(question)  # "系统要怎么升级呀 找不到在那": chat filler only dilutes (bot.knowledge.fillers)
        question = self._synonyms.apply(self._homophones.fix(fix_swaps(question, self._spelled, self._spelled_words)))
        result = self._hedge(self._ask(question, lang, intent, intent_confidence), question)
        result = self._offers_nothing(result, question, lang)
        result = service_reading(self, question, lang, result, intent, intent_confidence)  # "return the earbuds"
        # an answer an out-of-scope example turned away stays unsure; a weak "did you mean" may still be rephrased
        turned_away = bool(result.near_miss) and result.confidence >= self.config.answer_threshold
        rephrase = result.outcome != "answer" and not result.unknown_products and not turned_away
        if rephrase and lang == "en" and asks_question(question):
            result = self._without_names(question, lang, result, intent, intent_confidence)
        if rephrase and result.outcome != "answer" and result.candidates and not result.near_miss and not not_brand_terms(
                question, unknown_terms(question, self._vocabulary), self.answering.other_brands):
            # "耳机支持LDAC吗 蓝牙几点几": LDAC is the point; a brand is not ("我之前一直用的vivo … 保修期到底多长"); a
            # message nearer to an off-topic example has no clause of ours ("forgot my account password, how do i reset it")
            result = by_clause(self, question, lang, result)
        unheld = unheld_spec(question)
        entry = self.kb.faq.get(result.entry_id or "")
        if unheld and entry is not None and not entry.products and names_part(unheld):
            unheld = None  # "到手第三天 手机扬声器就破音了 能换台新的吗": the exchange policy holds for any part's fault
        if result.outcome == "answer" and unheld and unheld.lower() not in (result.text or "").lower():
            # "14pro运行内存多大" near the memory-card entry: the KB holds no RAM figure, and this answer has none
            result = replace(result, outcome="unsure", text=None, offer=None, hedged=False,
                             reason=f"asks about {unheld}, which the answer never mentions")
        result = self._other_figure(result, question, lang)
        result = fee_spoken_of(self, question, self._not_its_entry(result, question))  # "钢化膜 包邮吗"
        result = other_brand(self, result, question)
        topic = self.answering.topic(intent)
        if topic is not None and not result.other_brand:
            result.topic = intent
            # The overview answers when the ranking agrees on the topic (its best entry has one of the
            # topic's tags) but cannot tell which entry, and ranks the overview itself among its candidates: never
            # when the best entry is about something else, nor for a detail none of the topic's entries holds
            # ("可以到店自提吗": store pickup is not the shipping overview's).
            best = self._docs[result.candidates[0].entry_id].meta.get("tags") or [] if result.candidates else []
            on_topic = bool(set(best) & set(topic.tags)) and topic.overview in {c.entry_id for c in result.candidates}
            if (result.outcome != "answer" and topic.overview and intent_confidence >= self.answering.topic_confidence
                    and on_topic and not result.unknown_products and not result.near_miss):
                overview = self.answer_entry(topic.overview, lang, reason=(
                    f"no entry confident ({result.confidence:.2f}); intent {intent} at {intent_confidence:.2f} "
                    f">= {self.answering.topic_confidence}: its topic's overview"))
                held = not unheld or unheld.lower() in (overview.text or "").lower() if overview else False
                if overview is not None and held and self._not_its_entry(overview, question).outcome == "answer":
                    overview.topic, overview.candidates, overview.products = intent, result.candidates, result.products
                    result = overview
        result.latency_ms = (time.perf_counter() - start) * 1000
        return result

    def _subject_text(self, question: str) -> str:
        """`question` without the devices our product is only used with ("耳机能连两个手机不" → "…两个设备不",
        `bot.knowledge.roles`), when what is left still names a product of ours; else `question` as it is."""
        masked = self.roles.subject_text(question)
        if masked != question and (self.matcher.find(masked).known or category_products(self.kb.products, masked)):
            return masked
        return question

    def _named_products(self, question: str) -> List[str]:
        """The products `question` names, else every product of the category it names ("耳机", "手机")."""
        return self.matcher.find(question).known or category_products(self.kb.products, question)

    def _offers_nothing(self, result: Result, question: str, lang: str) -> Result:
        """A "did you mean" for a thing the knowledge base never names ("耳机能当助听器用不": bot.knowledge.terms) or a
        figure products.yml does not hold ("14 pro ppi": bot.knowledge.specs) can only offer the wrong entries."""
        if result.outcome != "suggest":
            return result
        named = self._named_products(question)
        missing = ", ".join(novel_nouns(question, self._kb_zh) or self._novel_words(question)) or missing_spec(
            [self.kb.products[p] for p in named], question, lang)
        missing = "" if missing == "in_box" and result.kind == "faq" else missing  # a box is an entry's to say
        return replace(result, outcome="unsure", reason=f"{result.reason}; never mentions {missing}") if missing else result

    def _other_figure(self, result: Result, question: str, lang: str) -> Result:
        """"how much storage does the band 9 have" near the Band 9's price: a figure of another kind answers nothing
        when products.yml holds none of the kind asked for the products named (`missing_spec`)."""
        if result.outcome != "answer" or result.kind != "spec" or not result.entry_id:
            return result
        missing = missing_spec([self.kb.products[p] for p in self._named_products(question)], question, lang)
        if not missing or names_spec(question, result.entry_id.rsplit(":", 1)[-1]):
            return result  # "how much storage does the base 14 come with": storage is asked too (in_box is missing)
        return replace(result, outcome="unsure", text=None, offer=None, hedged=False,
                       reason=f"{result.reason}; asks about {missing}, which products.yml never mentions for it")

    def _without_names(self, question: str, lang: str, whole: Result, intent: Optional[str],
                       intent_confidence: float) -> Result:
        """"can i pay for the 14 pro in instalments": the name pulls the ranking to the product's facts; asked without it,
        an FAQ entry about it or none answers when `sure_threshold` sure or a candidate as asked (docs/knowledge.md)."""
        mentions = self.matcher.find(question)
        if not mentions.spans:
            return whole
        neutral = mentions.without_names("it")
        found = self._ask(neutral, lang, intent, intent_confidence)
        about = set(self._docs[found.entry_id].meta.get("products") or []) if found.entry_id in self._docs else set()
        agrees = found.confidence >= self.config.sure_threshold or found.entry_id in {c.entry_id for c in whole.candidates}
        if (found.outcome != "answer" or found.kind != "faq" or not agrees
                or (about and not about & set(mentions.known))):
            return whole
        return replace(found, products=mentions.known, candidates=whole.candidates,
                       reason=f"asked without the product's name: {found.reason}")

    def ask_parts(self, question: str, language: Optional[str] = None, intent: Optional[str] = None,
                  intent_confidence: float = 0.0) -> List[Result]:
        """Several questions in one message: the confident answers of its parts (`bot.knowledge.parts`)."""
        return ask_parts(self, question, language, intent, intent_confidence)

    def _not_its_entry(self, result: Result, question: str) -> Result:
        """Unsure when the FAQ entry chosen cannot be about the question: it asks the repair price of a part the entry
        never names (`part_prices.unpriced_parts`), or to use our product without a phone, the app, an account or a
        network and the entry never speaks of doing without, but mentions that thing or is less than sure (roles); or
        its subject is products the entry is not about, and the question never names the entry's."""
        doc = self._docs.get(result.entry_id or "")
        absent = asks_without(question) if result.outcome == "answer" and result.kind == "faq" and doc else ""
        texts = [*doc.questions, *doc.passages] if doc is not None else []
        parts = unpriced_parts(question, doc.passages) if result.outcome == "answer" and result.kind == "faq" and doc else []
        if parts:  # "摄像头玻璃碎了 修要多少钱" near the screen's price: the KB has no camera repair price
            return replace(result, outcome="unsure", text=None, offer=None, hedged=False,
                           reason=f"asks the price of the {parts[0]}, which {result.entry_id} never gives")
        about = set(doc.meta.get("products") or []) if doc is not None and result.kind == "faq" else set()
        # "华为手机能配…": not our phones; "华为手表能连米粒手机用吗": the brand's is a watch, the phone ours
        mine = about and (not brands_named(question, self.answering.other_brands) or names_unmade_kind(question))
        named = set(self._named_products(self._subject_text(question))) if mine else set()
        # "手环9有nfc吗" near the phones' NFC entry (answered or offered); not "plug my phone and buds into the power bank"
        if result.outcome in ("answer", "suggest") and named and not named & about and not about & set(self._named_products(question)):
            return replace(result, outcome="unsure", text=None, offer=None, hedged=False,
                           reason=f"asks about {', '.join(sorted(named))}; {result.entry_id} is about others only")
        if not absent or speaks_of_absence(texts) or (result.confidence >= self.answering.override_threshold
                                                      and not mentions_what_is_done_without(absent, texts)):
            return result
        return replace(result, outcome="unsure", text=None, offer=None, hedged=False,
                       reason=f"asks about '{absent}', which {result.entry_id} never speaks of (was {result.confidence:.2f})")

    def _hedge(self, result: Result, question: str) -> Result:
        """A "did you mean" whose best entry is at least `hedge_threshold` sure and clearly ahead of the next one
        (its confidence at most `HEDGE_LEAD` of the best) is answered, saying which question it answers, with the
        others as buttons: a knowledgeable friend says "if you mean X: …", not "pick one"."""
        if result.outcome != "suggest" or result.confidence < self.config.hedge_threshold or not result.candidates:
            return result
        top, others = result.candidates[0], result.candidates[1:]
        if others and others[0].confidence > HEDGE_LEAD * top.confidence:
            return result
        answer = self.answer_entry(top.entry_id, result.language, reason=(
            f"confidence {result.confidence:.2f} between thresholds, at least {self.config.hedge_threshold} and "
            f"clearly ahead: answered, saying which question"), question=question)
        if answer is None:
            return result
        answer.confidence, answer.candidates, answer.hedged = result.confidence, result.candidates, True
        answer.products = answer.products or result.products
        return answer

    def _ask(self, question: str, lang: str, intent: Optional[str] = None, intent_confidence: float = 0.0,
             cues_of: Optional[str] = None) -> Result:  # cues_of: the whole message a clause is asked from (parts)
        mentions = self.matcher.find(question)
        older = self.matcher.older_models(mentions)  # "手环8的表带手环9能用吗": the Band 9's strap entry says
        unknown = [u for u in mentions.unknown if u not in older] or [
            k for k in [unmade_kind(question, mentions.known, self.matcher.find)] if k]
        if unknown:  # "米粒手表啥时候出", "你们有平板吗": we do not have that
            return Result(outcome="unsure", language=lang, confidence=0.0, kind="none", products=mentions.known,
                          unknown_products=unknown, reason=f"names a product not in the knowledge base: {', '.join(unknown)}")
        catalog = answer_catalog(self.kb.products, question, mentions.known, lang)
        if catalog is not None:
            return Result(outcome="answer", language=lang, confidence=1.0, entry_id=catalog.entry_id, text=catalog.text,
                          kind="catalog", products=catalog.products, reason="the range, from products.yml")
        about = mentions.known
        if not about:  # "耳机防水吗": the category's product; "你们的手机有没有512g的": the spec of every phone
            about = asked_category_products(self.kb.products, self._subject_text(question))
            mentions.known = about if len(about) == 1 else []
        spec = answer_spec([self.kb.products[p] for p in about], question, lang)
        box = {self.kb.products[p].in_box_entry for p in about} if spec is None and about else set()
        box = box if detect_spec(question) == "in_box" and not any(names_spec(question, k) for k in SPEC_KEYWORDS) else set()
        if len(box) == 1 and None not in box:  # "what's inside the pro's box"; not "how much storage … come with"
            found = self.answer_entry(str(box.pop()), lang, reason="what's in the box: the entry products.yml names")
            if found is not None:
                return replace(found, products=about)
        model = self.entry_model  # the model may be sure of an FAQ entry beside a spec named (sure_of); not a comparison
        q_vec = self.encoder.encode([question]) if spec and len(spec.products) == 1 and model is not None else None
        fitted = model.scores([question], q_vec) if model is not None and q_vec is not None else None
        sure = model.sure_of(fitted[0], self.index.ids, f":{spec.spec}") if spec and model and fitted is not None else None
        of = self._entry_products[self.index.ids.index(sure)] if sure else set()  # an entry about other products yields
        said = self.kb.faq[sure].answer.get(lang) if spec and sure in self.kb.faq else None  # "手环9续航真有14天吗 我开了心率监测"
        if spec and (sure is None or asks_unsaid(question, spec.spec, said) or (of and not of & set(spec.products))):
            return Result(outcome="answer", language=lang, confidence=1.0, entry_id=spec.entry_id, text=spec.text,
                          kind="spec", products=about, reason=f"spec '{spec.spec}' from products.yml")
        if not question.strip() or not self.index.ids:
            return Result(outcome="unsure", language=lang, confidence=0.0, kind="none", reason="empty question")
        q_vec = self.encoder.encode([question]) if q_vec is None else q_vec
        feats = self.index.features([question], q_vec)
        fused = self.index.fuse(feats, _langs([question]))[0]
        if self.pairs is not None:
            fused = fused + self.pairs.boost([question], q_vec)[0]
        fitted = model.scores([question], q_vec) if model is not None and fitted is None else fitted
        boost = model.boost(fitted)[0] if model is not None and fitted is not None else np.zeros_like(fused)
        prior = self.answering.topic_prior(intent, intent_confidence, self._entry_tags) + self.cues.prior(cues_of or question)
        scores = self._adjust(fused + boost, mentions, question) + prior
        order = np.argsort(-scores)
        # a spec or catalog fact at the top is judged without the model (bot.knowledge.calibration.Calibrator)
        faq_top = fitted is None or self._docs[self.index.ids[order[0]]].meta.get("kind", "faq") == "faq"
        x = _calib_features(scores[None, :], feats["dense_q"], feats["lex_q"], fitted, top=order[:1])
        plain = _calib_features((scores - boost)[None, :], feats["dense_q"], feats["lex_q"], top=order[:1])
        ranked = float(self.calibrator(plain, _langs([question])[0], model=False)[0])
        conf = float(self.calibrator(x, _langs([question])[0])[0]) if faq_top else ranked
        cands = []
        for rank, i in enumerate(order[: max(self.config.suggest_max, 1)]):
            # a candidate's own confidence: the calibrated top confidence scaled by its score gap
            c = conf if rank == 0 else conf * float(np.exp(-(scores[order[0]] - scores[i])))
            cands.append(Candidate(self.index.ids[i], float(scores[i]), c, self.question_label(self.index.ids[i], lang)))
        top = cands[0]
        kind = str(self._docs[top.entry_id].meta.get("kind", "faq"))
        base = Result(outcome="unsure", language=lang, confidence=conf, entry_id=top.entry_id, products=mentions.known,
                      candidates=cands, kind=kind, ranked=ranked if fitted is not None else None)
        example = self.out_of_scope.nearer(question, q_vec[0], int(order[0]))
        if example is not None and (fitted is None or fitted[0, order[0]] < SURE):  # the model learned the examples
            return replace(base, near_miss=example,
                           reason=f"nearer to the out-of-scope example '{example}' than to {top.entry_id}")
        # another brand is the brands rule's to judge (other_brand): "耳机连vivo手机能用吗" is about the earbuds
        unknown = not_brand_terms(question, unknown_terms(question, self._vocabulary), self.answering.other_brands)
        if self.config.answer_threshold <= conf < self.config.sure_threshold and unknown:
            # "14pro能拍8K视频吗" near phone_camera: no entry can be about a thing the KB never mentions
            return replace(base, outcome="unsure", reason=(f"confidence {conf:.2f} below {self.config.sure_threshold}, "
                                                           f"and the knowledge base never mentions {', '.join(unknown)}"))
        if conf >= self.config.answer_threshold:
            reason = f"confidence {conf:.2f} >= {self.config.answer_threshold}"
            e = self.kb.faq.get(top.entry_id)
            if e is not None:
                return replace(base, outcome="answer", text=e.answer.get(lang) or e.answer.get("en"), offer=e.offer,
                               reason=reason)
            fact = render_fact(self.kb, top.entry_id, question, lang)
            if fact is not None:
                kind, text, products = fact
                return replace(base, outcome="answer", text=text, reason=f"{reason}, {kind} from products.yml",
                               products=products, kind=kind)
        if conf >= self.config.suggest_threshold and unknown:
            return replace(base, outcome="unsure", reason=(f"confidence {conf:.2f} between thresholds, but the knowledge "
                                                           f"base never mentions {', '.join(unknown)}"))
        if conf >= self.config.suggest_threshold:
            # keep the close ones: within 1.5 z-units of the top, at least two
            close = [c for c in cands if scores[order[0]] - c.score <= 1.5][: self.config.suggest_max]
            return replace(base, outcome="suggest", reason=f"confidence {conf:.2f} between thresholds",
                           candidates=close if len(close) >= 2 else cands[:2])
        return replace(base, outcome="unsure", reason=f"confidence {conf:.2f} < {self.config.suggest_threshold}")
