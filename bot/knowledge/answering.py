"""How the intent joins the knowledge ranking: the `answering:` section of `knowledge/config.yml`.

Every question that asks for information goes through one ranking (docs/dialogue.md, "One answer
path"). The NLU intent is a signal in it, not a gate to a canned text:
- `topics`: an intent's topic is a set of entry tags. Entries with one of those tags get
  `topic_boost` × the intent's confidence added to their fused score (z-units), so "能改地址吗"
  classified `shipping` prefers the shipping entries, yet a better entry elsewhere still wins.
- When no entry is confident and the intent is at least `topic_confidence` sure, the topic's
  `overview` entry answers (a broad "how does shipping work?").
- `override_threshold`: a message classified as something other than a question (a complaint, a
  suggestion, out of scope) is answered from the knowledge base only when an FAQ entry is at least
  this confident; otherwise its own flow runs (filing feedback, "I can't help with that"). A complaint
  that is phrased as a question (`asks_question`: "打游戏烫得不行 正常吗", "dead by lunch, any tips?")
  asks for information, so the usual answer threshold applies to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np
import yaml

from bot.errors import ConfigError
from bot.knowledge._arrays import Floats
from bot.knowledge.part_prices import asks_cost
from bot.knowledge.restock_words import STOCK_ASK, asks_for_restock_alert, wants_to_be_told
from bot.knowledge.spec_words import detect_spec
from bot.language import CJK_CHAR

__all__ = ["ANSWER_ACTION", "AnsweringConfig", "config_section", "Topic", "load_answering", "asks_question", "is_request", "TASK_FLOWS",
           "GUARDED_FLOWS", "only_asks_about_task", "EXPLICIT_INTENTS", "EXPLICIT_CONFIDENCE", "said_unclearly", "wants_change",
           "SMALL_TALK", "small_talk_unclear", "FLOW_WORDS", "lacks_flow_words", "FLOW_CONFIDENCE", "names_an_order",
           "answer_path_first", "asks_in_words", "asks_feedback_status", "voices_feedback", "wants_task_done",
           "only_asks_for_information", "carries_link_code", "wants_to_be_told", "asks_for_restock_alert"]

# The action that answers from the one ranking (bot/actions/product.py); policies and follow-ups name it.
ANSWER_ACTION = "action_answer_product"

# Tasks people also ask about ("能改收货地址吗?"): intent -> the form that does it.
TASK_FLOWS = {"change_address": "change_address_form", "cancel_order": "cancel_order_form",
              "book_repair": "repair_booking_form", "restock_alert": "restock_alert_form"}

# Flows whose intent a question about the brand's policies is often mistaken for ("how do I get an invoice?"
# read as human_handoff, "内测咋报名" as ask_tier, "你们的物流是怎么安排的" as order_status, "do you do trade ins" as
# request_fcode): intent -> its flow.
# A question (not a request, no order number) with one of these intents goes to the answer path first, and
# only an FAQ entry at least `override_threshold` sure answers it; otherwise the flow runs as before. For
# human_handoff the EscalationPolicy decides first (an explicit "转人工" / "talk to a human" hands off at once).
GUARDED_FLOWS = {"order_status": "order_form", "ask_tier": "action_explain_tier", "human_handoff": "action_handoff",
                 "request_fcode": "action_grant_fcode", "feedback_beta_signup": "action_feedback_beta_signup",
                 "feedback_digest_subscribe": "action_feedback_digest_subscribe",
                 "feedback_unsubscribe": "action_feedback_unsubscribe", "verify_order": "verify_order_form"}
# A task or guarded flow the NLU is less sure of than this does not start on a question the knowledge base cannot
# answer either: "forgot my millet account password what do i do" (verify_order at 0.22) gets "not sure", not a
# form asking for an order number.
FLOW_CONFIDENCE = 0.5

# Intents whose flow changes what the user gets from us (subscriptions, sign-ups, linking accounts) or that stand for something
# other than words (a photo, a location pin: the channels send them as payloads), and the service-centre finder,
# which any city name pulls towards: they run only when the user said so clearly, by a button or media
# (a "/intent" payload) or a message the NLU is at least EXPLICIT_CONFIDENCE sure of. "update stuck at 45% for
# an hour, help" leaning towards feedback_unsubscribe must never unsubscribe anybody, and "这周末深圳会刮台风不"
# is not a question about service centres: anything less sure is asked of the answer path like any other message.
EXPLICIT_INTENTS = frozenset({"feedback_unsubscribe", "feedback_digest_subscribe", "feedback_beta_signup",
                              "link_identity", "share_photo", "share_location", "find_service_centre"})
EXPLICIT_CONFIDENCE = 0.8

# Small talk answered by one response: intent -> the response. A message the NLU is less than EXPLICIT_CONFIDENCE
# sure of ("right bud went silent, left still fine" read as goodbye at 0.52) is asked of the answer path, and the
# response is what it gets when no FAQ entry clearly answers; a clear "bye!" or "hi" keeps its rule.
SMALL_TALK = {"greet": "utter_greet", "goodbye": "utter_goodbye", "thanks": "utter_you_are_welcome",
              "bot_challenge": "utter_iamabot"}

_QUESTION = re.compile(
    r"[?？]|"
    r"(?:么|嘛|呢|不|没|没有|木有)(?:\W*$|\s)|吗(?!啡)|\w还是(?!不|没|一样|会|很|太|老|有点|这样|那样|挺|喜欢|觉得|想|要|算|得|用|在|能|可以|那么|这么|有)|怎么办|肿么|咋|啥|怎么|如何|(?:没事|没问题|可以|行|会坏|要紧|不要紧)吧|为什么|(?<![没不])(?:用的|用了|是|有|带|配|叫)什么(?![都也])|能不能|可不可以|是不是|有没有|正常吗|(.)不\1|"
    r"多久|多长时间|什么时候|啥时候|几时|哪天|哪里|哪儿|哪个|哪[款种部台一](?!天)|[在去从到]哪(?!怕)|多少|多大|多[重厚长宽高快贵沉](?!要|新|复|启)|几[年天个种次点号月块款周倍寸折]|几分钟|几小时|"
    r"^(?:how|what|why|when|where|which|who|can|could|is|are|do|does|did|will|would|should|may|any|is there|"
    r"are there|recommend)\b|\b(?:make|sell|have|offer|carry|got) any\b|\bany recommendations?\b|"
    r"^(?:u|you|ya|y'all|you guys|u guys) (?:got|have|sell|make|do|carry)\b|\bwhich (?:of|one|phone|model|version|band|earbuds?)\b|"
    r"\b(?:how|what|why|when|where|which|who)(?:'s|s| is| are| will| do| does| did| can| long| much| many)\b|"
    r"\b(?:any tips|(?:what|wtf|wth) (?:should|can|do) i do|is (?:this|that|it) normal|(?:is|does|can|will) it|how (?:do|can|to|long|much)|can i|should i|"
    r"can (?:you|u) (?:tell|explain)|any (?:way|fix|idea)s?)\b|[,，]\s*(?:how|where|what|which)\W*$|[,，]\s*(?:do|does|can|is|are|will)\s+(?:you|u|ya|it|they)\b|藏哪|找不[到着]|没找[到着]|"
    r"\bcan'?t find\b|\bcannot find\b|"
    # above, a question word left at the end ("…the 2 phones i bought, how") and what cannot be found ("没找着") ask; below,
    # a plea for help asks for a fix ("keeps disconnecting from my laptop, help", "耳机老断连 求助"), unlike thanks for it
    r"^help\b|(?:[,，.!;:]\s*|\b(?:pls|plz|please|so)\s+)help(?: me| us| pls| plz| please)?\W*$|求助|救命|帮帮我|帮忙看看|咋整|怎么整",
    re.IGNORECASE,
)


_REQUEST = re.compile(
    r"\b(?:can|could|would|will) (?:you|u)\b|\b(?:please|pls|plz)\b|\bi(?: want| need| would like|'d like) to\b|"
    r"^(?:change|cancel|book|update|send|ship|notify|tell me when|let me know when)\b|"
    r"帮我|帮忙|麻烦|(?<![补赔返])给我|我要|我想|请你|请帮|替我|通知我",  # "降了20 能补给我不" asks for the price protection
    re.IGNORECASE,
)


_WISH = re.compile(
    # not "能不能加钱买延保" (paying extra), nor "will i be able to add storage" (the fan adding something)
    r"希望|建议|(?:能不能|可不可以)(?:加(?!钱|价|点钱)|出|做|改|让)|能否让|加(?:个|一个|上)|增加|出(?:个|一款|一个)|"
    r"什么时候(?:能|会|才)?(?:出|加|支持|上线)|(?<!\bi )(?<!\bto )\badd\b|\b(?:adding|wish|would love|hope|suggest\w*|"
    r"please make|feature request|bring back|make it|should have|could you make)\b",
    re.IGNORECASE,
)


# Displeasure said about us or our product ("honestly disappointed", "体验很差", "太坑了"), or feedback given as such
# ("反馈一下 耳机盒的盖子太松了"): to file, beyond a fault reported for help ("左耳突然没声了 右边好好的", "耳机连不上我的联想笔记本"),
# which the entry that helps answers.
_VOICED = re.compile(r"反馈一?下|反馈个|提个?意见|给你们提|说个问题|\bfeedback\b|\bfyi\b|\bjust so (?:you|u) know\b|失望|"
                     r"(?:你们|你家|客服|售后|服务|态度)[^，。？?！!]{0,6}(?:太|真|好|也太)(?:慢|差|烂|坑|贵|麻烦|敷衍)|"
                     r"体验(?:很|太|真|极)?差|太差|很差|垃圾|太坑|坑人|坑爹|后悔|难用|不好用|吐槽|糟糕|无语|"
                     r"\b(?:disappoint\w*|terrible|awful|horrible|rubbish|crap\w*|sucks?|regret\w*|annoy\w*|frustrat\w*|"
                     r"unhappy|not happy|poor quality|bad design|letdown|let down)\b", re.IGNORECASE)


def voices_feedback(text: str) -> bool:
    """Whether a message says the user is displeased or gives feedback as such (`_VOICED`), not only what is wrong."""
    return bool(_VOICED.search(text or ""))


def wants_change(text: str) -> bool:
    """Whether a message asks for something to be made or changed ("希望出个小屏版", "pls add call recording"),
    not whether something exists ("手环能直接打电话吗"): the first is a suggestion, the second a question."""
    return bool(_WISH.search((text or "").strip()))


def is_request(text: str) -> bool:
    """Whether a message asks the bot to do something ("can you cancel it", "帮我改地址"), even as a question."""
    return bool(_REQUEST.search((text or "").strip()))


# What people put before a question ("lol could the power bank…", "ok so is the 14…"): not part of it.
_LEAD_IN = re.compile(r"^(?:(?:lol|lmao|haha+|hey|hi|hello|ok(?:ay)?|so|um+|uh+|hmm+|btw|yo|guys|quick q(?:uestion)?|"
                      r"question|sorry|also|and|but|wait)\b[\s,:;!.-]*)+", re.IGNORECASE)


def asks_question(text: str) -> bool:
    """Whether a message asks something ("…正常吗", "送不送", "any tips?", "lol could it…"), whatever else it says."""
    text = (text or "").strip()
    return bool(_QUESTION.search(text) or _QUESTION.search(_LEAD_IN.sub("", text)))


def asks_tersely(text: str) -> bool:
    """A question typed like a search: a spec word and a thing in at most five words or ten Chinese characters, with
    no wish for a change ("millet tv price", "14pro电池", "band 9 colours"): it asks, though it has no question's
    form, so a feedback-leaning intent does not file it. A complaint is no spec ("14 pro battery drains fast")."""
    text = (text or "").strip()
    short = len(CJK_CHAR.findall(text)) <= 10 and len(re.findall(r"[A-Za-z0-9]+", text)) <= 5
    return short and detect_spec(text) is not None and not wants_change(text)


def asks_in_words(text: str) -> bool:
    """A question with words enough to be about something ("do you guys have a student discount", "学生买手机有优惠吗":
    at least three words, or four Chinese characters), not a stray "??" or "啥": when the NLU cannot place it, the
    honest reply is the ranking's (an answer, "did you mean", or not sure), not "please rephrase"."""
    text = (text or "").strip()
    if text.startswith("/") or not asks_question(text):
        return False
    return len(CJK_CHAR.findall(text)) >= 4 or len(re.findall(r"[A-Za-z]+", text)) >= 3


@dataclass(frozen=True)
class Topic:
    tags: Tuple[str, ...] = ()
    overview: Optional[str] = None


@dataclass(frozen=True)
class AnsweringConfig:
    topic_boost: float = 0.5
    topic_confidence: float = 0.6
    override_threshold: float = 0.8
    topics: Dict[str, Topic] = field(default_factory=dict)
    other_brands: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    """Other brands -> the words that cover them in an entry (bot.knowledge.brands): an answer mentioning none of
    them for a brand the question names is unsure."""

    def topic(self, intent: Optional[str]) -> Optional[Topic]:
        return self.topics.get(intent or "")

    def topic_prior(self, intent: Optional[str], confidence: float, entry_tags: Sequence[Set[str]]) -> Floats:
        """Per entry, `topic_boost` times the intent's confidence for the entries tagged with the intent's topic."""
        wanted, weight = set(getattr(self.topic(intent), "tags", ())), self.topic_boost * max(0.0, min(1.0, confidence))
        return np.asarray([weight if tags & wanted else 0.0 for tags in entry_tags], np.float32)


def _number(path: Path, name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise ConfigError(f"{path}: answering.{name} must be a number from {low} to {high}, got {value!r}")
    return float(value)


def config_section(root: Path, name: str) -> Tuple[Path, Any]:
    """(`<root>/config.yml`, its section `name`: {} when the file or the section is missing); bad YAML names the line."""
    path = Path(root) / "config.yml"
    if not path.exists():
        return path, {}
    try:
        return path, (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(name) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc


def load_answering(root: Path, entry_ids: Optional[List[str]] = None) -> AnsweringConfig:
    """Read `<root>/config.yml` `answering:` (missing: defaults); `entry_ids` checks the overviews exist."""
    path, raw = config_section(root, "answering")
    known = {"topic_boost", "topic_confidence", "override_threshold", "topics", "other_brands"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown answering setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    defaults = AnsweringConfig()
    topics: Dict[str, Topic] = {}
    for intent, spec in (raw.get("topics") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("tags") or [], list):
            raise ConfigError(f"{path}: answering.topics.{intent} needs `tags: [...]` and optionally `overview: <entry id>`")
        overview = spec.get("overview")
        if overview and entry_ids is not None and overview not in entry_ids:
            raise ConfigError(f"{path}: answering.topics.{intent}.overview '{overview}' is not an FAQ entry id")
        topics[str(intent)] = Topic(tags=tuple(str(t) for t in spec.get("tags") or []),
                                    overview=str(overview) if overview else None)
    return AnsweringConfig(
        topic_boost=_number(path, "topic_boost", raw.get("topic_boost", defaults.topic_boost), 0.0, 5.0),
        topic_confidence=_number(path, "topic_confidence", raw.get("topic_confidence", defaults.topic_confidence), 0.0, 1.0),
        override_threshold=_number(path, "override_threshold",
                                   raw.get("override_threshold", defaults.override_threshold), 0.0, 1.0),
        topics=topics,
        other_brands=_brands(path, raw.get("other_brands") or {}),
    )


def _brands(path: Path, value: Any) -> Dict[str, Tuple[str, ...]]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and k.strip() and isinstance(v or [], list) and all(isinstance(w, str) for w in v or [])
            for k, v in value.items()):
        raise ConfigError(f"{path}: answering.other_brands must map each name to a list of words that cover it "
                          f"(e.g. `samsung: [android, 安卓]`), got {value!r}")
    return {k.strip(): tuple(w.strip() for w in v or [] if w.strip()) for k, v in value.items()}


def _not_said_clearly(confidence: float, text: str) -> bool:
    """No button (a "/intent" payload), and the NLU below `EXPLICIT_CONFIDENCE`."""
    return not (text or "").startswith("/") and confidence < EXPLICIT_CONFIDENCE


def said_unclearly(intent: Optional[str], confidence: float, text: str) -> bool:
    """An `EXPLICIT_INTENTS` intent the user did not say clearly."""
    return intent in EXPLICIT_INTENTS and _not_said_clearly(confidence, text)


# Flows about one thing of ours, which the NLU also reads into other messages: they run only when the message
# names that thing. The F-code flow grants a right to buy at a launch; "promo code for my first order?" (read as
# request_fcode at 0.98) is asked of the answer path instead.
# The same holds for a repair booking ("need a vat invoice for my company" read as book_repair), a feedback item's
# status ("hows the zoom on the pro?" read as feedback_status) and a restock alert ("14 pro launch date"), and for
# the small talk that says we are a bot ("你们老板是谁" read as bot_challenge is not a question about us).
FCODE_NAMED = r"f\s*-?\s*码|\bf\s*-?\s*codes?\b"  # an F-code by name ("F码", "f-code", "fcode"): bot.handoff.policy too
FLOW_WORDS = {name: re.compile(words, re.IGNORECASE) for name, words in {
    "request_fcode": FCODE_NAMED + r"|优先|首发|早鸟|邀请码|抢购|购买码|提前买|\bearly[- ]?(?:access|bird)\b|"
                     r"\bpriority\b|\bpre-?order|\blaunch\b|\binvite\b|before every(?:one|body)",
    "book_repair": r"修|取件|上门|坏|碎|裂|进水|故障|\brepair\w*|\bfix\w*|\bpick ?up\b|\bcollect\w*|\bbroke\w*|\bcracked\b|"
                   r"\bdied\b|\bdead\b|\bcourier\b|\bfault\w*|\bdamage\w*",
    "feedback_status": r"反馈|建议|意见|投诉|进度|进展|采纳|问题|提的|提交|下文|回音|计划|改了|修了|做了|FB\s?\d+|\bfeedback\b|"
                       r"\bsuggest\w*|\bcomplain\w*|\breport\w*|\bidea\b|\broadmap\b|\bplanned\b|\bfix\w*|\bship\w*|"
                       r"\basked for\b|\bissue\b|\bstatus\b|\bupdate\b|\bprogress\b|\baccepted\b|\brequest\w*|\bsent in\b",
    # "你是谁", "are you a bot": the bot itself, not "你们老板是谁", "who makes the screen" or "are you hiring" (the answer path's)
    "bot_challenge": r"你(?!们|家)|您|机器|真人|人工|人吗|是人|自动回复|智能客服|程序|小助手|\bai\b|chatgpt|bot\b|robot|human|"
                     r"person|\breal\b|automated|auto ?reply|machine|computer|\bprogram\b|\b(?:are|r) (?:you|u)\b(?!\s+(?:guys\b|\w+ing\b))|"
                     r"\bwho (?:are|r) (?:you|u)\b|\bwhat are (?:you|u)\b|\b(?:your|ur) name\b|\byou a\b",
    # what a restock alert is about (stock), not the words of being told ("notify me when the battery is full",
    # "do u have a fraud alert feature": no product is awaited)
    "restock_alert": r"货|库存|断货|卖完|售罄|(?<!时)候补|排队|到了(?:告诉|通知|叫|提醒)|\bstock\b|\brestock\w*|\bback\b|(?<!update )(?<!updates )\bavailab\w*|"
                     r"\bsold out\b|\bwait ?-?list\b|\bwaiting list\b|\b(?:have|has|get|got) (?:it|them|one|some)(?: in)? again\b",
    # two identities to link ("怎么修改账号密码", "一个账号最多能买几台" link none)
    # both platforms named, not one ("how do i get telegram notifs on my band": the band's notifications)
    "link_identity": r"绑|关联|合并|合在一起|连起来|连一起|同步|链接|两个(?:账?号|身份)|同一个人|\d{6}|"
                     r"(?:telegram|\btg\b|电报).{0,40}(?:微信|wechat)|(?:微信|wechat).{0,40}(?:telegram|\btg\b|电报)|"
                     r"\blink\w*|\bconnect\w*|\bmerge\w*|\bsync\w*|\bbind\w*|\bpair\w*|\bboth me\b|\bsame (?:person|account)\b",
    # an order or an identity to verify ("can i get my name engraved on the power bank" verifies nothing)
    "verify_order": r"单|验证|核实|核验|手机号|验证码|账号|证明|\border\w*|\bverif\w*|\bcode\b|\bprove\b|\bphone\b|\baccount\b|"
                    r"\blogin\b|\bidentity\b|\bpurchase\b|\bplaced\b|\bmine\b",
    # a place to take it, or a city alone (the answer to "which city?"); not "你们公司是哪里的 总部在深圳吗"
    "find_service_centre": r"服务|维修|修|售后|网点|门店|店|米粒之家|线下|实体|营业|附近|最近|\bservice\b|\brepair\w*|\bfix\w*|"
                           r"\bstores?\b|\bshops?\b|\bcent(?:re|er)s?\b|\bwalk[- ]?in\b|\blooked at\b|\bin person\b|\bnear\w*|\bclosest\b|"
                           r"^\W*(?:我在|我是|城市是|在)?[^\s，。？?！!,.]{1,8}\W*$|"
                           r"^\W*(?:my city is |i'?m in |i live in |in )?[a-z]+(?: [a-z]+)?(?: please| pls)?\W*$",
    # an order to cancel ("how do i cancel my millet cloud subscription" cancels none)
    "cancel_order": r"订单|单|买|购|付|拍|发货|(?:帮|给|替)我取消|\border\w*|\bpurchase\w*|\bbought\b|\bbuy\b|\bit\b|\bpayment\b|"
                    r"[a-z]?\d{6,}",
}.items()}


# Asking after feedback already sent ("any update on the suggestion i sent about an eq", "我上次提的建议怎么样了"),
# which the NLU may read as a new suggestion or complaint: its status, not a second filing.
_FEEDBACK_STATUS = re.compile(
    r"\b(?:any|an|got an?|what(?:'?s| is) the) (?:update|news|word|progress|status)s? (?:on|about|re|regarding|with|of) (?:the |my |our |that )?"
    r"(?:[\w-]+ ){0,2}(?:suggestion|feedback|idea|request|report|complaint)s?\b|"
    r"\b(?:what|whatever) happened (?:to|with) (?:the |my |that )(?:[\w-]+ ){0,2}(?:suggestion|feedback|idea|request|report)\b|"
    r"(?:我|之前|上次|前几天|以前)[^，。？?！!]{0,8}(?:提的|提交的|反馈的|发的|说的)(?:那个|那条)?(?:建议|反馈|意见|问题)[^，。？?！!]{0,10}"
    r"(?:怎么样了|咋样了|进展|进度|下文|回音|采纳|处理了?没|有消息)", re.IGNORECASE)


def asks_feedback_status(text: str) -> bool:
    """Whether a message asks what became of feedback the user sent (`_FEEDBACK_STATUS`)."""
    return bool(_FEEDBACK_STATUS.search(text or ""))


# A link code as `bot.fans.create_link_code` shows it ("7KQ4M-9XDPH": 5 + 5 symbols of its alphabet, no 0/O/1/I, at least
# one digit), typed with a dash, a space or nothing between the halves, in any case; written together, a letter is
# needed too (ten digits are an order or a phone number). With a word of linking (绑定/关联/link/connect/code/码...)
# it is a code redeemed, whatever the NLU says: the EscalationPolicy sends it to `action_link_identity`.
_LINK_SYMBOL = "[2-9A-HJ-NP-Za-hj-np-z]"
_LINK_CODE = re.compile(rf"(?<![0-9A-Za-z])(?:{_LINK_SYMBOL}{{5}}\s*-\s*{_LINK_SYMBOL}{{5}}|{_LINK_SYMBOL}{{5}} {_LINK_SYMBOL}{{5}}|"
                        rf"(?=[0-9]*[A-Za-z]){_LINK_SYMBOL}{{10}})(?![0-9A-Za-z])")
_LINK_WORD = re.compile(r"绑|关联|合并|链接|连接|连起来|码|\blink\w*|\bconnect\w*|\bmerge\w*|\bbind\w*|\bcode\b|"
                        r"\bredeem\w*", re.IGNORECASE)


def carries_link_code(text: str) -> bool:
    """A link code in the current format with a word of linking ("link 7KQ4M-9XDPH", "绑定 7kq4m9xdph", "my code is
    h3k9p 2wq8z"): the user redeems it, so it goes to `action_link_identity` (old 6-digit codes are left to the NLU)."""
    text = text or ""
    return not text.startswith("/") and bool(_LINK_WORD.search(text)) and any(
        any(ch.isdigit() for ch in m.group(0)) for m in _LINK_CODE.finditer(text))


def lacks_flow_words(intent: Optional[str], text: str) -> bool:
    """A `FLOW_WORDS` intent on a message that never names its thing (and is no button)."""
    words = FLOW_WORDS.get(intent or "")
    return words is not None and not (text or "").startswith("/") and not words.search(text or "")


def small_talk_unclear(intent: Optional[str], confidence: float, text: str) -> bool:
    """A `SMALL_TALK` intent the user did not say clearly."""
    return intent in SMALL_TALK and _not_said_clearly(confidence, text)


def only_asks_about_task(text: str, has_order_number: bool) -> bool:
    """"能改收货地址吗": a question about a task, not a request to do it, and about no order in particular."""
    return not has_order_number and asks_question(text) and not is_request(text)


_DO_TASK = re.compile(r"预约|帮我(?:修|约|寄|安排|换|预约|弄)|给我(?:修|约|安排)|替我|我要(?:修|报修|预约)|"
                      r"\bbook\b|\bschedule\b|\barrange\b|\bsign me up\b|\bfor me\b", re.IGNORECASE)


def wants_task_done(text: str) -> bool:
    """Whether a message wants a task done for the user ("帮我修", "预约维修", "book a repair for me")."""
    return bool(_DO_TASK.search(text or ""))


def _price_question(text: str, has_order_number: bool, task: bool) -> bool:
    return task and not has_order_number and (
        (asks_cost(text) and not wants_task_done(text)) or (bool(STOCK_ASK.search(text)) and not wants_to_be_told(text)))


def only_asks_for_information(text: str, has_order_number: bool, confidence: float, task: bool) -> bool:
    """A task or guarded flow's message the answer path answers whatever its ranking says (an answer, "did you mean" or
    not sure), never starting the flow: a question about it the NLU is less than `FLOW_CONFIDENCE` sure of, or for a
    task (`task`: `TASK_FLOWS`) a price asked without wanting the task done ("how much to replace a cracked back glass
    on 14 pro" read as book_repair) or stock asked without wanting to be told ("power bank restocked yet?")."""
    return ((confidence < FLOW_CONFIDENCE and only_asks_about_task(text, has_order_number))
            or _price_question(text, has_order_number, task))


def names_an_order(entities: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the NLU found an order number in the message."""
    return any(e.get("entity") == "order_number" for e in entities)


def answer_path_first(text: str, has_order_number: bool, confidence: float, task: bool = False) -> bool:
    """A task or guarded flow's message the answer path sees before the flow: a question about the task
    (`only_asks_about_task`), or a statement the NLU is less than `FLOW_CONFIDENCE` sure wants it ("first time here,
    what products do u guys have" read as order_status at 0.24), or for a task (`task`) a price asked without wanting
    the task done ("can you tell me how much a new screen is") or stock asked without wanting to be told ("band 9 in
    stock or nah"); never a request to do it, a message naming an order, nor stock asked to be told of ("绿色的pro啥时候有货
    到了跟我说一声": the restock alert, not the Pro's colours)."""
    if task and wants_to_be_told(text) and STOCK_ASK.search(text):
        return False
    return only_asks_about_task(text, has_order_number) or (
        not has_order_number and confidence < FLOW_CONFIDENCE and not is_request(text)) or _price_question(
        text, has_order_number, task)
