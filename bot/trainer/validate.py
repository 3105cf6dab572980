"""`bot validate`: check intents, responses, dialogue and knowledge; print `file:line: what and how to fix`.

Our checks (every finding has a file and, almost always, a line):
- NLU: duplicate examples within an intent, the same example under two intents (conflict),
  too few examples per language, intents missing from the domain or declared without examples;
- responses: the zh/en twin missing, twins that drifted since they were paired (`twins.lock`),
  conditions on unknown slots or values, duplicate definitions;
- slots and forms: mappings from unknown entities or forms, categorical slots without values,
  initial values outside the values, forms asking for unknown slots;
- dialogue: rules/stories using unknown intents, actions, slots or forms;
- products: "Millet …" names that are not in `knowledge/products.yml`;
- knowledge: the knowledge engineer's validator (`bot.knowledge`) when present, KB answers
  missing their zh/en twin and drifted KB twins.
Then Rasa's own `Validator` (unless `--no-rasa`); its warnings are placed on the first line
that mentions the name they are about.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
from typing import Any, Callable, Dict, List, Optional, Sequence

from bot.trainer import knowledge_texts, twins as twins_mod
from bot.trainer.config import load_config
from bot.trainer.domain_index import DomainIndex, index_domain
from bot.trainer.problems import Problem, count, print_problems, sort_problems
from bot.trainer.sources import (
    Example,
    TextItem,
    item_line,
    key_line,
    language_of_condition,
    load_yaml,
    nlu_examples,
    relpath,
    response_texts,
    yaml_files,
)

__all__ = ["run_validation", "main", "register_arguments"]

RASA_DEFAULT_INTENTS = {"restart", "back", "out_of_scope", "session_start", "nlu_fallback"}
RASA_DEFAULT_ACTIONS = {
    "action_listen", "action_restart", "action_session_start", "action_default_fallback", "action_deactivate_loop",
    "action_revert_fallback_events", "action_default_ask_affirmation", "action_default_ask_rephrase",
    "action_two_stage_fallback", "action_unlikely_intent", "action_back", "action_extract_slots", "...",
}
RASA_DEFAULT_SLOTS = {"requested_slot", "session_started_metadata", "knowledge_base_listed_objects",
                      "knowledge_base_last_object", "knowledge_base_last_object_type"}
SLOT_TYPES = {"text", "bool", "categorical", "float", "list", "any"}
LANGS = ("zh", "en")
_LANG_NAMES = {"zh": "Chinese", "en": "English"}
_PUNCT_TRANS = {ord(c): None for c in " \t，。！？、,.!?~～…:：;；'\"“”‘’()（）"}


def normalize_example(text: str) -> str:
    """Lower case, full-width folded, punctuation and spaces removed: what makes two examples 'the same'."""
    return unicodedata.normalize("NFKC", text).lower().translate(_PUNCT_TRANS)


def _detect(text: str) -> Optional[str]:
    from bot.language import detect_language

    return detect_language(text)


# ---------------------------------------------------------------- NLU
def check_nlu(examples: List[Example], declared: Dict[str, tuple], domain: DomainIndex, config: Dict[str, Any]) -> List[Problem]:
    problems: List[Problem] = []
    vconf = config["validate"]
    seen: Dict[str, Example] = {}
    for ex in examples:
        if not ex.text:
            problems.append(Problem(ex.file, ex.line, "error", "example-empty", f"empty example under intent '{ex.intent}'; write the user's message after `- ` or delete the line"))
            continue
        norm = normalize_example(ex.text)
        first = seen.get(norm)
        if first is None:
            seen[norm] = ex
        elif first.intent == ex.intent:
            exact = first.text == ex.text
            same = "is repeated" if exact else f"is the same as '{first.text}' except for case/punctuation"
            problems.append(Problem(ex.file, ex.line, "warning" if exact else "info", "example-duplicate",
                f"example '{ex.text}' {same} in intent '{ex.intent}' ({first.file}:{first.line}); it teaches the model nothing new, delete this line"))
        else:
            problems.append(Problem(ex.file, ex.line, "error", "example-conflict",
                f"example '{ex.text}' is under intent '{ex.intent}' here but under '{first.intent}' at {first.file}:{first.line}; "
                f"keep it in the one intent it means and delete the other"))
    per_lang: Dict[str, Dict[str, int]] = {}
    for ex in examples:
        lang = _detect(ex.text)
        per_lang.setdefault(ex.intent, {"zh": 0, "en": 0})
        if lang in LANGS:
            per_lang[ex.intent][lang] += 1
    minimum = int(vconf["min_examples_per_language"])
    ignore = set(vconf.get("ignore_intents") or [])
    one_lang_ok = set(vconf.get("optional_language_intents") or [])
    for intent, counts in sorted(per_lang.items()):
        file, line = declared.get(intent, ("intents", 0))
        if intent in ignore:
            continue
        for lang in LANGS:
            n = counts[lang]
            if n >= minimum or (n == 0 and intent in one_lang_ok):
                continue
            severity = "error" if n == 0 else "warning"
            problems.append(Problem(file, line, severity, "intent-too-few-examples",
                f"intent '{intent}' has {n} {_LANG_NAMES[lang]} example(s); at least {minimum} are needed: add how real users say it in {_LANG_NAMES[lang]}"))
    for intent, (file, line) in sorted(declared.items()):
        if intent not in domain.intents and intent not in RASA_DEFAULT_INTENTS:
            problems.append(Problem(file, line, "error", "intent-not-in-domain",
                f"intent '{intent}' has examples but is not listed under `intents:` in responses/; add it there (or fix the spelling)"))
    for intent, (file, line) in sorted(domain.intents.items()):
        if intent not in declared and intent not in ignore:
            problems.append(Problem(file, line, "warning", "intent-no-examples",
                f"intent '{intent}' is in the domain but has no examples in intents/; add examples or remove it"))
    return problems


# ---------------------------------------------------------------- slots, forms, responses
def check_slots(domain: DomainIndex) -> List[Problem]:
    problems: List[Problem] = []
    for name, (file, line, slot) in sorted(domain.slots.items()):
        if not hasattr(slot, "get"):
            problems.append(Problem(file, line, "error", "slot-broken", f"slot '{name}' has no definition; give it a `type:` and `mappings:`"))
            continue
        stype = slot.get("type")
        if stype not in SLOT_TYPES and not (isinstance(stype, str) and "." in stype):
            problems.append(Problem(file, key_line(slot, "type") if "type" in slot else line, "error", "slot-type",
                f"slot '{name}' has type {stype!r}; use one of {', '.join(sorted(SLOT_TYPES))}"))
        values = [str(v) for v in (slot.get("values") or [])]
        if stype == "categorical" and not values:
            problems.append(Problem(file, line, "error", "slot-no-values", f"categorical slot '{name}' lists no `values:`; add the allowed values"))
        if "initial_value" in slot and stype == "categorical" and slot.get("initial_value") is not None and str(slot.get("initial_value")) not in values:
            problems.append(Problem(file, key_line(slot, "initial_value"), "error", "slot-initial-value",
                f"slot '{name}' starts as {slot.get('initial_value')!r}, which is not one of its values {values}; fix the value or add it to `values:`"))
        mappings = slot.get("mappings")
        if mappings is None:
            problems.append(Problem(file, line, "error", "slot-no-mappings",
                f"slot '{name}' has no `mappings:` (Rasa 3 needs them); add e.g. `mappings: [{{type: custom}}]`"))
            continue
        for i, mapping in enumerate(mappings or []):
            if not hasattr(mapping, "get"):
                continue
            mline = item_line(mappings, i)
            if mapping.get("type") == "from_entity":
                entity = mapping.get("entity")
                if entity not in domain.entities:
                    problems.append(Problem(file, mline, "error", "slot-unknown-entity",
                        f"slot '{name}' is filled from entity '{entity}', which is not listed under `entities:`; add it there or fix the name"))
            for cond in mapping.get("conditions") or []:
                loop = cond.get("active_loop") if hasattr(cond, "get") else None
                if loop and loop not in domain.forms:
                    problems.append(Problem(file, mline, "error", "slot-unknown-form",
                        f"slot '{name}' has a mapping condition on form '{loop}', which is not under `forms:`; fix the name"))
    for name, (file, line, form) in sorted(domain.forms.items()):
        required = form.get("required_slots") if hasattr(form, "get") else None
        for i, slot in enumerate(required or []):
            slot_name = slot if isinstance(slot, str) else next(iter(slot), None)
            if slot_name not in domain.slots:
                problems.append(Problem(file, item_line(required, i), "error", "form-unknown-slot",
                    f"form '{name}' asks for slot '{slot_name}', which is not under `slots:`; add the slot or fix the name"))
        if name not in domain.actions and f"validate_{name}" not in domain.actions:
            pass  # forms need no action entry
    return problems


def check_responses(domain: DomainIndex) -> List[Problem]:
    problems: List[Problem] = []
    for name, (file, line, variations) in sorted(domain.responses.items()):
        if not isinstance(variations, list) or not variations:
            problems.append(Problem(file, line, "error", "response-empty", f"response '{name}' has no variations; add a zh and an en `text:`"))
            continue
        langs = set()
        for i, var in enumerate(variations):
            vline = item_line(variations, i)
            if not hasattr(var, "get"):
                continue
            if not any(k in var for k in ("text", "custom", "image", "buttons", "attachment")):
                problems.append(Problem(file, vline, "error", "response-no-text", f"a variation of '{name}' has no `text:`; add the text"))
            for cond in var.get("condition") or []:
                if not hasattr(cond, "get"):
                    continue
                slot = cond.get("name")
                if cond.get("type") == "slot" and slot not in domain.slots and slot not in RASA_DEFAULT_SLOTS:
                    problems.append(Problem(file, vline, "error", "response-unknown-slot",
                        f"a variation of '{name}' is conditioned on slot '{slot}', which is not under `slots:`; fix the name"))
                elif cond.get("type") == "slot" and slot in domain.slots:
                    sdef = domain.slots[slot][2]
                    values = [str(v) for v in (sdef.get("values") or [])] if hasattr(sdef, "get") else []
                    if values and str(cond.get("value")) not in values:
                        problems.append(Problem(file, vline, "error", "response-bad-condition",
                            f"a variation of '{name}' needs {slot}={cond.get('value')!r}, but the slot only takes {values}; use one of those"))
            lang = language_of_condition(var)
            if lang:
                langs.add(lang)
        for lang in LANGS:
            if lang not in langs:
                problems.append(Problem(file, line, "error", "twin-missing",
                    f"response '{name}' has no {_LANG_NAMES[lang]} variation; add one with `condition: [{{type: slot, name: language, value: {lang}}}]`"))
    return problems


# ---------------------------------------------------------------- dialogue
def _step_problems(rel: str, steps: Any, where: str, domain: DomainIndex, intents: set) -> List[Problem]:
    problems: List[Problem] = []
    actions = set(domain.actions) | set(domain.responses) | set(domain.forms) | RASA_DEFAULT_ACTIONS
    for i, step in enumerate(steps or []):
        if not hasattr(step, "get"):
            continue
        line = item_line(steps, i)
        if "or" in step:
            problems += _step_problems(rel, step["or"], where, domain, intents)
            continue
        intent = step.get("intent")
        if intent is not None and intent not in intents:
            problems.append(Problem(rel, line, "error", "dialogue-unknown-intent",
                f"{where} expects intent '{intent}', which is not in the domain; fix the name or add the intent"))
        action = step.get("action")
        if action is not None and action not in actions:
            fix = "add the response to responses/" if str(action).startswith("utter_") else "list it under `actions:` in responses/"
            problems.append(Problem(rel, line, "error", "dialogue-unknown-action",
                f"{where} runs '{action}', which is not defined; {fix} or fix the name"))
        loop = step.get("active_loop")
        if loop and loop not in domain.forms:
            problems.append(Problem(rel, line, "error", "dialogue-unknown-form",
                f"{where} uses form '{loop}', which is not under `forms:`; fix the name"))
        for slot_event in step.get("slot_was_set") or []:
            slot = slot_event if isinstance(slot_event, str) else next(iter(slot_event), None)
            if slot not in domain.slots and slot not in RASA_DEFAULT_SLOTS:
                problems.append(Problem(rel, line, "error", "dialogue-unknown-slot",
                    f"{where} checks slot '{slot}', which is not under `slots:`; fix the name"))
    return problems


def check_dialogue(root: str, domain: DomainIndex, problems: List[Problem], sub: str = "dialogue") -> List[Problem]:
    out: List[Problem] = []
    intents = set(domain.intents) | RASA_DEFAULT_INTENTS
    for path in yaml_files(root, sub):
        rel = relpath(path, root)
        data, errs = load_yaml(path, root)
        problems.extend(errs)
        if not hasattr(data, "get"):
            continue
        for section, label in (("rules", "rule"), ("stories", "story")):
            for entry in data.get(section) or []:
                if not hasattr(entry, "get"):
                    continue
                where = f"{label} '{entry.get(label, '?')}'"
                out += _step_problems(rel, entry.get("steps"), where, domain, intents)
                out += _step_problems(rel, entry.get("condition"), where, domain, intents)
    return out


# ---------------------------------------------------------------- products
_MENTION = re.compile(
    r"(?:millet|米粒)[ \t]*(?:手机|手环|耳机|充电宝|手表|平板|phone|band|buds|power[ \t]*bank|watch|pad|tv|book)?[ \t]*"
    r"\d{1,5}(?:[ \t]*(?:pro|ultra|max|plus|lite|mini|se)(?![a-z]))?", re.I)


def _norm_name(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def check_products(examples: List[Example], texts: List[TextItem], catalogue: Sequence[str],
                   finder: Optional[Callable[[str], List[str]]] = None) -> List[Problem]:
    """'Millet/米粒 <family> <number> [variant]' names that are not a product name or alias in the catalogue."""
    if finder is None:
        if not catalogue:
            return []
        known = {_norm_name(n) for n in catalogue if n}

        def finder(text: str) -> List[str]:
            return [m.group(0) for m in _MENTION.finditer(text) if _norm_name(m.group(0)) not in known]

    problems: List[Problem] = []
    places = [(ex.text, ex.file, ex.line, True) for ex in examples] + [(t.text, t.file, t.line, False) for t in texts]
    for text, file, line, is_example in places:
        for name in finder(text):
            problems.append(Problem(file, line, "error", "unknown-product",
                f"'{name}' is not a product in knowledge/products.yml; fix the name or add the product there"))
    return problems


# ---------------------------------------------------------------- Rasa's own validator
_QUOTED = re.compile(r"'([^']+)'")


def _locate(root: str, name: str, subs: Sequence[str]) -> tuple:
    for sub in subs:
        for path in yaml_files(root, sub):
            with open(path, encoding="utf-8") as fh:
                for i, line in enumerate(fh, 1):
                    if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", line):
                        return relpath(path, root), i
    return subs[0], None


def rasa_problems(root: str, config_file: str = "config.yml") -> List[Problem]:
    """Run Rasa's Validator in-process; map its warnings to Problems placed where the name first appears."""
    import logging
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    problems: List[Problem] = []
    messages: List[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                messages.append(record.getMessage())

    handler = _Collect()
    rasa_logger = logging.getLogger("rasa")
    rasa_logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from rasa.shared.importers.importer import TrainingDataImporter
            from rasa.validator import Validator

            importer = TrainingDataImporter.load_from_config(
                os.path.join(root, config_file), os.path.join(root, "responses"),
                [os.path.join(root, "intents"), os.path.join(root, "dialogue")],
            )
            validator = Validator.from_importer(importer)
            validator.verify_domain_validity()
            validator.verify_actions_in_stories_rules()
            validator.verify_forms_in_stories_rules()
            validator.verify_form_slots()
            validator.verify_slot_mappings()
            validator.verify_nlu(ignore_warnings=False)
            validator.verify_story_structure(ignore_warnings=False)
        try:
            from rasa.utils.common import EXPECTED_WARNINGS  # noise Rasa itself hides
        except ImportError:
            EXPECTED_WARNINGS = []
        expected = [re.compile(pattern) for _, pattern in EXPECTED_WARNINGS]
        messages += [str(w.message) for w in caught if issubclass(w.category, UserWarning)
                     and not any(p.match(str(w.message)) for p in expected)]
    except Exception as exc:  # Rasa's loaders raise their own errors for unreadable files
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Problem(config_file, None, "error", "rasa", f"Rasa cannot load the training data: {text}")]
    finally:
        rasa_logger.removeHandler(handler)
    for msg in dict.fromkeys(messages):
        if "not used in any story or rule" in msg or "assistant_id" in msg or "mandatory key" in msg:
            severity = "info"
        elif "story structure" in msg.lower() or "conflict" in msg.lower() or "not listed" in msg or "not a valid" in msg:
            severity = "error"
        else:
            severity = "warning"
        names = _QUOTED.findall(msg)
        file, line = _locate(root, names[0], ("dialogue", "intents", "responses")) if names else ("responses", None)
        problems.append(Problem(file, line, severity, "rasa", f"Rasa: {' '.join(msg.split())}"))
    return problems


# ---------------------------------------------------------------- entry points
def _dedupe(problems: List[Problem]) -> List[Problem]:
    """Drop Rasa findings that one of our own checks already reported at the same place."""
    ours = {(p.file, p.line) for p in problems if p.code != "rasa" and p.severity != "info"}
    out, seen = [], set()
    for p in problems:
        if p.code == "rasa" and (p.file, p.line) in ours:
            continue
        key = (p.file, p.line, p.code, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def collect(repo_root: str, problems: List[Problem]) -> tuple:
    """Load everything once: (domain index, examples, declared intents, response texts, KB texts)."""
    domain = index_domain(repo_root, problems)
    examples, declared = nlu_examples(repo_root, problems)
    texts = response_texts(domain.files)
    kb = knowledge_texts.load(repo_root, problems)
    return domain, examples, declared, texts, kb


def run_validation(repo_root: str, rasa: bool = True, config: Optional[Dict[str, Any]] = None) -> List[Problem]:
    """All findings for the project at `repo_root`, sorted by file and line."""
    repo_root = os.path.abspath(repo_root)
    config = config or load_config(repo_root)
    problems: List[Problem] = []
    domain, examples, declared, texts, kb = collect(repo_root, problems)
    problems += check_nlu(examples, declared, domain, config)
    problems += check_slots(domain)
    problems += check_responses(domain)
    problems += check_dialogue(repo_root, domain, problems)
    problems += kb.problems
    if not kb.validated:  # the knowledge loader reports missing twins itself
        problems += knowledge_texts.twin_missing(kb.texts)
    problems += check_products(examples, texts + kb.texts, kb.catalogue, kb.unknown_products)
    record = twins_mod.load_record(repo_root)
    problems += twins_mod.drift_problems(twins_mod.current_twins(texts + kb.texts), record)
    if rasa and os.path.exists(os.path.join(repo_root, "config.yml")):
        problems += rasa_problems(repo_root)
    return sort_problems(_dedupe(problems))


def register_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=None, help="project folder (default: CANYU_HOME, the repo)")
    p.add_argument("--no-rasa", action="store_true", help="skip Rasa's own validator (faster)")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="also show notes (info lines)")
    p.add_argument("--pair", nargs="*", metavar="KEY", default=None,
                   help="record the current zh/en texts of these answers (all when no KEY) as paired in twins.lock")


def _home() -> str:
    from bot.settings import load_settings

    return str(load_settings().home)


def main(args: argparse.Namespace) -> int:
    """`bot validate`: exit 0 when clean, 1 when there are errors (or warnings with --strict)."""
    root = os.path.abspath(getattr(args, "root", None) or _home())
    if getattr(args, "pair", None) is not None:
        problems: List[Problem] = []
        _, _, _, texts, kb = collect(root, problems)
        done = twins_mod.pair(root, twins_mod.current_twins(texts + kb.texts), args.pair or None)
        print(f"paired {len(done)} answer(s) in {twins_mod.TWINS_FILE}")
        if args.pair and not done:
            print("nothing paired: check the key names (utter_… or a KB entry id) and that both languages exist", file=sys.stderr)
            return 1
        return 0
    problems = run_validation(root, rasa=not getattr(args, "no_rasa", False))
    print_problems(problems, as_json=getattr(args, "json", False), show_info=getattr(args, "verbose", False))
    if count(problems, "error") or (getattr(args, "strict", False) and count(problems, "warning")):
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bot validate")
    register_arguments(parser)
    sys.exit(main(parser.parse_args()))
