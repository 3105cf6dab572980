"""`action_service_centre`: the nearest Millet service centre for a shared location or a typed city.

The centres live in `knowledge/service_centres.yml` (trainers edit it; re-read when it changes). A location
(WeChat `Location_X/Y`, Telegram `location`, passed by the channels as message metadata
`{"location": {"latitude", "longitude", "label"}}`) gets the centre with the shortest great-circle distance;
a message naming a city ("上海哪里能修", "service centre in Shenzhen", a bare "成都") gets that city's
centres. With neither, the user is asked for their city or location, and told which cities we cover; unless the
message asks how to get it repaired without a centre (mail-in, a pickup, no centre nearby) or where to try a phone
in a shop (the centres repair, check and swap): the answer path says.

    centres = load_centres(centres_path(ctx.settings))
    nearest(centres, 31.23, 121.47)            # -> (Centre sh-lujiazui, 3.4 km)
    city_in("我在深圳，哪里能修耳机", centres)    # -> "shenzhen"
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot import yaml_files
from bot.actions._context import WithContext
from bot.actions.common import tracker_language
from bot.errors import ConfigError
from bot.knowledge.answering import ANSWER_ACTION
from bot.knowledge.part_prices import asks_cost

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["Centre", "ActionServiceCentre", "centres_path", "load_centres", "parse_centres", "haversine_km",
           "nearest", "city_in", "location_of"]

logger = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG); the haversine distance is good to about 0.5 % anywhere, plenty for "nearest"."""
FAR_KM = 300.0
"""Beyond this the nearest centre is still named, but the user also hears about the courier pickup."""
_LANGS = ("zh", "en")


@dataclass(frozen=True)
class Centre:
    id: str
    city_key: str
    city: Mapping[str, str]
    aliases: Tuple[str, ...]
    name: Mapping[str, str]
    address: Mapping[str, str]
    lat: float
    lon: float
    hours: Mapping[str, str]
    phone: str

    def names_of_city(self) -> Tuple[str, ...]:
        return tuple(n for n in (*self.city.values(), *self.aliases) if n)


def centres_path(settings: "Settings") -> Path:
    """`CANYU_SERVICE_CENTRES_FILE`, else `<home>/knowledge/service_centres.yml`."""
    explicit = settings.env.get("CANYU_SERVICE_CENTRES_FILE")
    return Path(explicit) if explicit else settings.home / "knowledge" / "service_centres.yml"


def _bilingual(raw: Any, where: str, key: str) -> Dict[str, str]:
    if not isinstance(raw, Mapping) or not all(str(raw.get(lang) or "").strip() for lang in _LANGS):
        raise ConfigError(f"{where}: '{key}' needs both zh and en, e.g. {key}: {{zh: 上海, en: Shanghai}} "
                          f"(found {raw!r})")
    return {lang: str(raw[lang]).strip() for lang in _LANGS}


def parse_centres(data: Any, source: str = "service_centres.yml") -> List[Centre]:
    """Validate the parsed YAML; each error names the centre, the field and the fix."""
    if not isinstance(data, Mapping) or not isinstance(data.get("centres"), list) or not data["centres"]:
        raise ConfigError(f"{source}: expected 'centres:' with a list of service centres at the top level")
    centres: List[Centre] = []
    seen = set()
    for i, raw in enumerate(data["centres"]):
        where = f"{source}: centres[{i}]"
        if not isinstance(raw, Mapping) or not raw.get("id"):
            raise ConfigError(f"{where}: every centre needs an 'id' (e.g. id: sh-xujiahui)")
        cid = str(raw["id"])
        where = f"{source}: centre '{cid}'"
        if cid in seen:
            raise ConfigError(f"{where}: the id is used twice; give each centre its own id")
        seen.add(cid)
        city = _bilingual(raw.get("city"), where, "city")
        try:
            lat, lon = float(raw.get("lat")), float(raw.get("lon"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            # cause dropped: the message quotes the bad lat/lon
            raise ConfigError(f"{where}: lat and lon must be numbers in degrees (found lat={raw.get('lat')!r}, "
                              f"lon={raw.get('lon')!r})") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ConfigError(f"{where}: lat={lat}, lon={lon} is not on Earth (lat -90..90, lon -180..180); "
                              "are they swapped?")
        aliases = tuple(str(a).strip() for a in ((raw.get("city") or {}).get("aliases") or []) if str(a).strip())
        centres.append(Centre(
            id=cid, city_key=city["en"].lower(), city=city, aliases=aliases,
            name=_bilingual(raw.get("name"), where, "name"), address=_bilingual(raw.get("address"), where, "address"),
            lat=lat, lon=lon, hours=_bilingual(raw.get("hours"), where, "hours"), phone=str(raw.get("phone") or ""),
        ))
    return centres


def load_centres(path: Path) -> List[Centre]:
    """The centres of `path` (`centres_path(ctx.settings)`), cached until the file changes."""
    return yaml_files.load(Path(path), parse_centres,
                           missing="no service centre list; create it or set CANYU_SERVICE_CENTRES_FILE")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def nearest(centres: Sequence[Centre], lat: float, lon: float) -> Tuple[Centre, float]:
    """The closest centre and its distance in km."""
    return min(((c, haversine_km(lat, lon, c.lat, c.lon)) for c in centres), key=lambda cd: cd[1])


def city_in(text: str, centres: Sequence[Centre]) -> Optional[str]:
    """The city key of a city named in `text` (zh names as substrings, en names as whole words), else None.
    The longest name wins ("上海市" before "上海")."""
    text = text or ""
    best: Optional[Tuple[int, str]] = None
    for c in centres:
        for name in c.names_of_city():
            if re.fullmatch(r"[\x00-\x7f]+", name):
                found = re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", text, re.IGNORECASE)
            else:
                found = re.search(re.escape(name), text)
            if found and (best is None or len(name) > best[0]):
                best = (len(name), c.city_key)
    return best[1] if best else None


def location_of(metadata: Mapping[str, Any]) -> Optional[Tuple[float, float, str]]:
    """(lat, lon, label) from a message's metadata `location`, or None when absent or not numbers."""
    loc = (metadata or {}).get("location")
    if not isinstance(loc, Mapping):
        return None
    try:
        lat, lon = float(loc.get("latitude")), float(loc.get("longitude"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon, str(loc.get("label") or "")


def _distance_text(km: float, language: str) -> str:
    if km < 1:
        return f"{int(round(km * 1000, -1))} 米" if language == "zh" else f"{int(round(km * 1000, -1))} m"
    return f"{km:.1f} 公里" if language == "zh" else f"{km:.1f} km"


# Words that ask for a place to get something fixed or bought. A message with none of them, no city and no shared
# location ("where is millet hq", "你们公司总部在哪个城市", read as find_service_centre) goes to the answer path,
# unless it answers our "which city?".
_ABOUT_CENTRES = re.compile(r"售后|维修|修|服务中心|服务点|网点|门店|店|米粒之家|线下|实体|附近|最近|\bservice\b|\brepair\w*|"
                            r"\bfix\w*|\bstores?\b|\bshops?\b|\bcent(?:er|re)s?\b|walk-?in|in person|\bnear(?:by| me)\b",
                            re.IGNORECASE)


# How to get it repaired without walking into a centre ("怎么寄修", "住在县城 附近没有你们的店 咋修", "你们能上门来拿吗",
# "or do i have to mail it in"): the method is the knowledge base's to say (the courier pickup, the centres), not a
# "which city?".
_HOW_TO_SEND = re.compile(r"寄修|寄过去|寄回|邮寄|上门|取件|(?:咋|怎么|如何)修|没有?(?:你们的|米粒的)?(?:店|门店|网点|服务中心)|没店|县城|"
                          r"乡下|农村|小地方|\bmail\w*|\bpost (?:it|them)\b|\bsend (?:it|them) (?:in|off|away)\b|\bpick ?-?up\b|"
                          r"\bcourier\b|\bno (?:store|shop|centre|center|service centre|service center)s?\b|"
                          r"\bhow (?:does|do|would) (?:the )?repairs? work\b|\bnowhere near\b|\bfar (?:away )?from\b|离得(?:太)?远|太远了",
                          re.IGNORECASE)


# Where to go ("附近有售后吗", "closest service centre"): without it, a cost asked ("屏裂了去服务中心要付钱不") is the answer path's.
_WHERE = re.compile(r"哪|附近|最近|地址|在不在|有没有|\bwhere\b|\bnear\w*|\bclosest\b|\bany\b|\baddress\b", re.IGNORECASE)


# Trying or buying a phone in a shop ("线下有体验店吗 想摸摸真机", "a shop in chengdu where i can try the phones before
# buying", "do u have a physical store in london"): the centres are for repairs, checks and swaps; the answer path says what the knowledge base knows.
_TO_TRY = re.compile(r"体验店|体验中心|专卖店|实体店|线下店|\bphysical (?:shop|store)s?\b|\bretail (?:shop|store)s?\b|"
                     r"\bbrick[- ]and[- ]mortar\b|(?:摸|试|玩)(?:一?[摸试玩]|下|一下)?真机|上手(?:试|摸|玩)|\btry (?:\w+ ){0,3}?(?:in person|"
                     r"before (?:i )?buy\w*|out)\b|\bhands[- ]on\b|\bexperience (?:store|shop|centre|center)\b|\bshowrooms?\b",
                     re.IGNORECASE)


# A city in a question about delivery ("if i order tonight when will it get to shenzhen", "寄到成都要几天") is where the
# parcel goes, not where the user wants a centre.
_ABOUT_DELIVERY = re.compile(r"快递|物流|发货|到货|送到|寄到|发到|配送|包邮|运费|几天到|多久(?:能|才)?到|\border\w*|\bdeliver\w*|"
                             r"\bship\w*|\bpost(?:age)?\b|\bcourier\b|\barriv\w*|\bget (?:it |them )?(?:to|here)\b",
                             re.IGNORECASE)


def _asked_for_city(tracker: Tracker) -> bool:
    """The bot's last words asked which city (so a bare place name answers it)."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action") == "utter_service_centre_unknown_city"
    return False


class ActionServiceCentre(WithContext, Action):
    """Nearest centre for a location, a city's centres for a typed city, else ask (see the module)."""

    def name(self) -> Text:
        return "action_service_centre"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        lang = tracker_language(tracker)
        try:
            centres = load_centres(centres_path(self.ctx.settings))
        except ConfigError as exc:
            logger.error("action_service_centre: %s", exc)
            dispatcher.utter_message(response="utter_service_centre_unknown_city", cities="-")
            return []
        message = tracker.latest_message or {}
        located = location_of(message.get("metadata") or {})
        if located is not None:
            lat, lon, label = located
            centre, km = nearest(centres, lat, lon)
            logger.info("action_service_centre: %s at (%.3f, %.3f) -> %s, %.1f km", tracker.sender_id, lat, lon,
                        centre.id, km)
            dispatcher.utter_message(response="utter_service_centre_nearest", **self._fields(centre, lang),
                                     distance=_distance_text(km, lang))
            if km > FAR_KM:
                dispatcher.utter_message(response="utter_service_centre_far")
            return []
        text = message.get("text") or ""
        city = city_in(text, centres)
        answers_us = _asked_for_city(tracker)
        if (city is None or _ABOUT_DELIVERY.search(text)) and not _ABOUT_CENTRES.search(text) and not answers_us:
            return [FollowupAction(ANSWER_ACTION)]  # "where is millet hq": not about our centres; the ranking's reply
        if _TO_TRY.search(text) and not answers_us:
            return [FollowupAction(ANSWER_ACTION)]  # "线下有体验店吗 想摸摸真机": no centre sells or shows phones
        if city is None and _HOW_TO_SEND.search(text) and not answers_us:
            return [FollowupAction(ANSWER_ACTION)]  # "怎么寄修啊 附近有售后点吗": how repairs work, from the ranking
        if city is None and asks_cost(text) and not _WHERE.search(text) and not answers_us:
            return [FollowupAction(ANSWER_ACTION)]  # "屏裂了去服务中心要付钱不": what it costs, not where to go
        if city is None:
            cities = "、".join(dict.fromkeys(c.city["zh"] for c in centres)) if lang == "zh" else \
                ", ".join(dict.fromkeys(c.city["en"] for c in centres))
            dispatcher.utter_message(response="utter_service_centre_unknown_city", cities=cities)
            return []
        for centre in [c for c in centres if c.city_key == city][:3]:
            dispatcher.utter_message(response="utter_service_centre_in_city", **self._fields(centre, lang))
        return []

    @staticmethod
    def _fields(centre: Centre, lang: str) -> Dict[str, str]:
        return {"centre_name": centre.name[lang], "centre_address": centre.address[lang],
                "centre_hours": centre.hours[lang], "centre_phone": centre.phone, "city": centre.city[lang]}
