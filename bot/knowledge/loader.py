"""Load and validate the trainer-edited knowledge base (`knowledge/products.yml`, `knowledge/faq/*.yml`).

Every problem is reported as `file:line: what is wrong and how to fix it`, all at once, in one
`DataError` (its `errors` attribute lists them), so a trainer fixes a whole batch per run. The types it builds
are in `bot.knowledge.model` (re-exported here).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bot.errors import DataError
from bot.knowledge.model import Credit, FaqEntry, KnowledgeBase, Offer, Product, credit_line
from bot.knowledge.specs import check_products

__all__ = ["Product", "FaqEntry", "Offer", "Credit", "credit_line", "ends_with_offer", "KnowledgeBase", "load_kb",
           "kb_files", "kb_fingerprint", "LANGS"]

LANGS = ("en", "zh")
CREDIT_NAME_MAX = 24


class _LineDict(Dict[Any, Any]):
    line: int = 0


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    d = _LineDict(loader.construct_mapping(node, deep=True))
    d.line = node.start_mark.line + 1
    return d


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def kb_files(root: Path) -> List[Path]:
    """The files that make up the knowledge base, in a stable order."""
    files = [root / "products.yml"] + sorted((root / "faq").glob("*.yml")) + sorted((root / "faq").glob("*.yaml"))
    return [f for f in files if f.exists()]


def _extra_files(root: Path) -> List[Path]:
    return [root / "out_of_scope.yml", root / "config.yml"]


def kb_fingerprint(root: Path, extra: str = "") -> str:
    """SHA-1 over the KB files' names and contents (plus `extra`, e.g. the model name)."""
    h = hashlib.sha1(extra.encode())
    for f in kb_files(root) + _extra_files(root):
        if f.exists():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _read(path: Path, rel: str, errors: List[str]) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        errors.append(f"{rel}:{line}: invalid YAML ({getattr(exc, 'problem', exc)}); check indentation and quotes")
    except UnicodeDecodeError:
        errors.append(f"{rel}:1: not UTF-8 text; save the file as UTF-8")
    return None


def _line(obj: Any, default: int = 1) -> int:
    return getattr(obj, "line", default) or default


def _str_list(value: Any) -> List[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return []


def _load_products(path: Path, rel: str, errors: List[str]) -> Dict[str, Product]:
    doc = _read(path, rel, errors)
    out: Dict[str, Product] = {}
    if doc is None:
        return out
    items = doc.get("products") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        errors.append(f"{rel}:{_line(doc)}: expected a top-level `products:` list")
        return out
    seen_alias: Dict[str, Tuple[str, int]] = {}
    for item in items:
        line = _line(item)
        if not isinstance(item, dict) or not item.get("id"):
            errors.append(f"{rel}:{line}: every product needs an `id`")
            continue
        pid = str(item["id"])
        if pid in out:
            errors.append(f"{rel}:{line}: duplicate product id '{pid}' (first at {out[pid].source}); ids must be unique")
            continue
        name = item.get("name") or {}
        for lang in LANGS:
            if not isinstance(name, dict) or not str(name.get(lang) or "").strip():
                errors.append(f"{rel}:{line}: product '{pid}' has no {lang} name; add `name: {{en: ..., zh: ...}}`")
        aliases_raw = item.get("aliases") or {}
        aliases = {lang: _str_list(aliases_raw.get(lang)) for lang in LANGS} if isinstance(aliases_raw, dict) else {}
        for lang in LANGS:
            if not aliases.get(lang):
                errors.append(f"{rel}:{_line(aliases_raw, line)}: product '{pid}' has no {lang} aliases; "
                              f"add what customers type, e.g. `{lang}: [...]`")
        codes = _str_list(item.get("model_codes"))
        for a in [*(name.values() if isinstance(name, dict) else []), *[x for v in aliases.values() for x in v], *codes]:
            key = "".join(str(a).lower().split())
            other = seen_alias.get(key)
            if other and other[0] != pid:
                errors.append(f"{rel}:{line}: alias '{a}' of '{pid}' is also an alias of '{other[0]}' "
                              f"(line {other[1]}); make it unique")
            seen_alias.setdefault(key, (pid, line))
        specs = item.get("specs") or {}
        if not isinstance(specs, dict):
            errors.append(f"{rel}:{_line(specs, line)}: `specs` of '{pid}' must be a mapping")
            specs = {}
        for key, spec in specs.items():
            if not isinstance(spec, dict):
                errors.append(f"{rel}:{line}: spec '{key}' of '{pid}' must be a mapping (e.g. `value: ...`)")
                continue
            say = spec.get("say")
            if say is not None and (not isinstance(say, dict) or any(not say.get(lang) for lang in LANGS)):
                errors.append(f"{rel}:{_line(spec, line)}: spec '{key}' of '{pid}': `say` needs both en and zh")
        summary = _lang_texts(item.get("summary"), f"{rel}:{_line(item.get('summary'), line)}: product '{pid}' `summary`",
                              errors)
        colours = _colours(item.get("colours"), f"{rel}:{_line(item.get('colours'), line)}: product '{pid}'", errors)
        box_at = f"{rel}:{_line(item.get('in_box'), line)}: product '{pid}'"
        in_box, complete, box_entry = _in_box(item.get("in_box"), box_at, errors)
        release = item.get("release_date")
        out[pid] = Product(
            id=pid, category=str(item.get("category") or ""), name=dict(name) if isinstance(name, dict) else {},
            aliases=aliases, model_codes=codes, price=item.get("price"),
            release_date=str(release) if release else None, specs={k: dict(v) for k, v in specs.items() if isinstance(v, dict)},
            source=f"{rel}:{line}", summary=summary, colours=colours, in_box=in_box, in_box_complete=complete,
            in_box_entry=box_entry,
        )
    return out


def _lang_texts(value: Any, where: str, errors: List[str]) -> Dict[str, str]:
    """An optional `{en: ..., zh: ...}` text pair; both languages or an error."""
    if value is None:
        return {}
    if not isinstance(value, dict) or any(not str(value.get(lang) or "").strip() for lang in LANGS):
        errors.append(f"{where} needs both en and zh, e.g. `{{en: ..., zh: ...}}`")
        return {}
    return {lang: str(value[lang]).strip() for lang in LANGS}


def _colours(value: Any, where: str, errors: List[str]) -> Dict[str, List[str]]:
    if value is None:
        return {}
    lists = {lang: _str_list(value.get(lang)) for lang in LANGS} if isinstance(value, dict) else {}
    if not lists or any(not v for v in lists.values()) or len(set(map(len, lists.values()))) != 1:
        errors.append(f"{where}: `colours` needs en and zh lists of the same length (the same colours, in order)")
        return {}
    return lists


def _in_box(value: Any, where: str, errors: List[str]) -> Tuple[Dict[str, List[str]], bool, Optional[str]]:
    """`in_box: {en: [...], zh: [...], complete: true, entry: <faq id>}`: what the box holds, the same items in both
    languages, in order; `complete` when that is everything (then "does it come with a case?" for a case not listed is
    a no); `entry`, an FAQ entry that answers it in its own words (spec answers leave the question to that entry)."""
    if value is None:
        return {}, False, None
    if not isinstance(value, dict) or set(value) - {*LANGS, "complete", "entry"}:
        errors.append(f"{where}: `in_box` takes `en` and `zh` lists of the items in the box (same items, same order), "
                      "an optional `complete: true` and an optional `entry: <faq id>`")
        return {}, False, None
    lists = {lang: _str_list(value.get(lang)) for lang in LANGS}
    if any(not v for v in lists.values()) or len(set(map(len, lists.values()))) != 1:
        errors.append(f"{where}: `in_box` needs en and zh lists of the same length (the same items, in order)")
        return {}, False, None
    complete = value.get("complete", False)
    if not isinstance(complete, bool):
        errors.append(f"{where}: `in_box.complete` must be true or false, not {complete!r}")
        return {}, False, None
    entry = value.get("entry")
    return lists, complete, str(entry) if entry else None


def _check_in_box_entries(products: Dict[str, Product], faq: Dict[str, FaqEntry]) -> List[str]:
    """An `in_box.entry` must be an FAQ entry about that product (or about none)."""
    errors: List[str] = []
    for p in products.values():
        entry = faq.get(p.in_box_entry) if p.in_box_entry else None
        if p.in_box_entry and entry is None:
            errors.append(f"{p.source}: product '{p.id}' `in_box.entry` names '{p.in_box_entry}', which is no FAQ entry")
        elif entry is not None and entry.products and p.id not in entry.products:
            errors.append(f"{p.source}: product '{p.id}' `in_box.entry` names '{entry.id}', which is about "
                          f"{', '.join(entry.products)}, not '{p.id}'; add the product to the entry or drop `entry`")
    return errors


_OFFER_END = ("?", "？")


def ends_with_offer(text: str) -> bool:
    """An answer that ends with a question offers something ("Want the steps?", "要我带你设置吗？")."""
    return text.rstrip().endswith(_OFFER_END)


def _offer(item: Dict[str, Any], fid: str, where: str, answer: Dict[str, str], errors: List[str]) -> Optional[Offer]:
    raw = item.get("offer")
    offers = [lang for lang in LANGS if ends_with_offer(answer.get(lang, ""))]
    if raw is None:
        if offers:
            errors.append(f"{where}: entry '{fid}' ends its {offers[0]} answer with a question, which offers something "
                          "the user can say yes to; add `offer:` (`answer: {en, zh}`, `entry: <id>` or `flow: <form>`) "
                          "saying what yes gives, or end the answer without a question")
        return None
    if not isinstance(raw, dict) or len([k for k in ("answer", "entry", "flow") if raw.get(k)]) != 1:
        errors.append(f"{where}: entry '{fid}': `offer` needs exactly one of `answer: {{en, zh}}`, `entry: <id>` "
                      "or `flow: <form or action>`")
        return None
    if len(offers) != len(LANGS):
        errors.append(f"{where}: entry '{fid}' has an `offer` but its answer does not end with the question that makes "
                      "it in both languages; end the en and zh answers with the offer (\"Want the steps?\" / \"要我发你步骤吗？\")")
    if raw.get("answer"):
        texts = _lang_texts(raw["answer"], f"{where}: entry '{fid}' `offer.answer`", errors)
        return Offer(answer=texts) if texts else None
    if raw.get("entry"):
        return Offer(entry=str(raw["entry"]))
    return Offer(flow=str(raw["flow"]))


def _credit(item: Dict[str, Any], fid: str, where: str, errors: List[str]) -> Optional[Credit]:
    """The optional `credit: {fan: <profile id>, name: <display name>}` of a fan-written answer.

    `name` is one name, or `{en: ..., zh: ...}`; at most CREDIT_NAME_MAX characters, on one line, without "@"."""
    raw = item.get("credit")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"fan", "name"}:
        errors.append(f"{where}: entry '{fid}': `credit` needs exactly `fan: <profile id>` and `name: <display name>` "
                      "(or `name: {en: ..., zh: ...}`)")
        return None
    fan = str(raw.get("fan") or "").strip()
    if not fan:
        errors.append(f"{where}: entry '{fid}': `credit` has no `fan`; put the fan's profile id "
                      "(e.g. `fan: telegram:42`), or remove `credit:`")
    names = raw.get("name")
    if isinstance(names, str):
        names = {lang: names for lang in LANGS}
    if not isinstance(names, dict) or any(not str(names.get(lang) or "").strip() for lang in LANGS):
        errors.append(f"{where}: entry '{fid}': `credit.name` is missing or lacks a language; give one display name "
                      "(`name: 小北`) or both (`name: {en: xiaobei, zh: 小北}`)")
        return None
    clean = {lang: str(names[lang]).strip() for lang in LANGS}
    for lang, name in clean.items():
        if len(name) > CREDIT_NAME_MAX or "\n" in name or "@" in name:
            errors.append(f"{where}: entry '{fid}': credit name {name!r} ({lang}) must be one line of at most "
                          f"{CREDIT_NAME_MAX} characters without '@' (the credit line adds the '@')")
            return None
    return Credit(fan=fan, name=clean) if fan else None


def _load_faq(path: Path, rel: str, products: Dict[str, Product], faq: Dict[str, FaqEntry], errors: List[str]) -> None:
    doc = _read(path, rel, errors)
    if doc is None:
        return
    items = doc.get("faq") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        errors.append(f"{rel}:{_line(doc)}: expected a top-level `faq:` list")
        return
    for item in items:
        line = _line(item)
        if not isinstance(item, dict) or not item.get("id"):
            errors.append(f"{rel}:{line}: every FAQ entry needs an `id`")
            continue
        fid = str(item["id"])
        if fid in faq:
            errors.append(f"{rel}:{line}: duplicate FAQ id '{fid}' (first at {faq[fid].source}); rename one of them")
            continue
        qs = item.get("questions")
        ans = item.get("answer")
        questions: Dict[str, List[str]] = {}
        answer: Dict[str, str] = {}
        if not isinstance(qs, dict):
            errors.append(f"{rel}:{line}: entry '{fid}' needs `questions:` with `en:` and `zh:` lists")
            qs = {}
        if not isinstance(ans, dict):
            errors.append(f"{rel}:{line}: entry '{fid}' needs `answer:` with `en:` and `zh:`")
            ans = {}
        for lang in LANGS:
            questions[lang] = _str_list(qs.get(lang))
            answer[lang] = str(ans.get(lang) or "").strip()
            if qs and not questions[lang]:
                other = "zh" if lang == "en" else "en"
                errors.append(f"{rel}:{_line(qs, line)}: entry '{fid}' has {other} questions but no {lang} twin; "
                              f"add `{lang}:` phrasings")
            if ans and not answer[lang]:
                errors.append(f"{rel}:{_line(ans, line)}: entry '{fid}' has no {lang} answer; every answer needs en and zh")
        covered = _str_list(item.get("products"))
        for pid in covered:
            if pid not in products:
                known = ", ".join(sorted(products)) or "none"
                errors.append(f"{rel}:{line}: entry '{fid}' names unknown product '{pid}'; known products: {known}")
        offer = _offer(item, fid, f"{rel}:{_line(item.get('offer'), line)}", answer, errors)
        credit = _credit(item, fid, f"{rel}:{_line(item.get('credit'), line)}", errors)
        if credit is not None:
            if offer is not None:
                errors.append(f"{rel}:{line}: entry '{fid}' has both `credit` and `offer`; the credit line ends a "
                              "fan-written answer, so it cannot end with an offer")
            answer = {lang: f"{text}\n{credit_line(credit, lang)}" if text else text for lang, text in answer.items()}
        faq[fid] = FaqEntry(id=fid, questions=questions, answer=answer, tags=_str_list(item.get("tags")),
                            products=covered, source=f"{rel}:{line}", offer=offer, credit=credit)


def load_kb(root: Path) -> KnowledgeBase:
    """Read and validate the KB under `root`; raise `DataError` listing every problem found."""
    root = Path(root)
    errors: List[str] = []
    products_file = root / "products.yml"
    if not products_file.exists():
        raise DataError(f"no products file; create {products_file} with a `products:` list", file=str(products_file))
    products = _load_products(products_file, _rel(products_file, root), errors)
    faq: Dict[str, FaqEntry] = {}
    for path in kb_files(root)[1:]:
        _load_faq(path, _rel(path, root), products, faq, errors)
    for e in faq.values():
        if e.offer is not None and e.offer.entry and e.offer.entry not in faq:
            errors.append(f"{e.source}: entry '{e.id}' offers entry '{e.offer.entry}', which does not exist")
    errors.extend(check_products(products))
    errors.extend(_check_in_box_entries(products, faq))
    if not faq and not errors:
        errors.append(f"{_rel(root / 'faq', root)}:1: no FAQ entries; add knowledge/faq/<topic>.yml with a `faq:` list")
    oos: Dict[str, List[str]] = {}
    near: Dict[str, List[str]] = {}
    oos_file = root / "out_of_scope.yml"
    if oos_file.exists():
        doc = _read(oos_file, _rel(oos_file, root), errors)
        section = doc.get("out_of_scope") if isinstance(doc, dict) else None
        close = doc.get("near_misses") if isinstance(doc, dict) else None
        if doc is not None and (not isinstance(section, dict) or not isinstance(close or {}, dict)):
            errors.append(f"{_rel(oos_file, root)}:{_line(doc)}: expected `out_of_scope:` (and optionally "
                          f"`near_misses:`) with `en:` and `zh:` lists")
        elif section:
            oos = {lang: _str_list(section.get(lang)) for lang in LANGS}
            near = {lang: _str_list((close or {}).get(lang)) for lang in LANGS}
    if errors:
        err = DataError("\n".join(errors))
        err.errors = errors  # type: ignore[attr-defined]
        raise err
    return KnowledgeBase(products=products, faq=faq, root=root, fingerprint=kb_fingerprint(root), out_of_scope=oos,
                         near_misses=near)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)
