"""Names Rasa defines itself (never declared in our domain) and the two languages every text comes in."""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["RASA_DEFAULT_INTENTS", "RASA_DEFAULT_ACTIONS", "RASA_DEFAULT_SLOTS", "SLOT_TYPES", "LANGS", "LANG_NAMES"]

RASA_DEFAULT_INTENTS = frozenset({"restart", "back", "out_of_scope", "session_start", "nlu_fallback"})
RASA_DEFAULT_ACTIONS = frozenset({
    "action_listen", "action_restart", "action_session_start", "action_default_fallback", "action_deactivate_loop",
    "action_revert_fallback_events", "action_default_ask_affirmation", "action_default_ask_rephrase",
    "action_two_stage_fallback", "action_unlikely_intent", "action_back", "action_extract_slots", "...",
})
RASA_DEFAULT_SLOTS = frozenset({"requested_slot", "session_started_metadata", "knowledge_base_listed_objects",
                                "knowledge_base_last_object", "knowledge_base_last_object_type"})
SLOT_TYPES = frozenset({"text", "bool", "categorical", "float", "list", "any"})
LANGS = ("zh", "en")
LANG_NAMES = MappingProxyType({"zh": "Chinese", "en": "English"})
