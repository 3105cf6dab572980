"""Split long bot answers at natural boundaries (paragraph, line, sentence, clause, word)."""

from __future__ import annotations

from typing import Callable, List

__all__ = ["split_by", "utf8_len", "utf16_len"]

_SEPARATORS = ["\n\n", "\n", "。", "！", "？", ". ", "! ", "? ", "；", "，", ", ", " "]


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_by(text: str, limit: int, measure: Callable[[str], int] = len) -> List[str]:
    """Parts of `text`, each with `measure(part) <= limit`, cut at the most natural boundary available."""
    return _split(text.strip(), limit, measure, _SEPARATORS)


def _split(text: str, limit: int, measure: Callable[[str], int], seps: List[str]) -> List[str]:
    if measure(text) <= limit:
        return [text] if text else []
    for i, sep in enumerate(seps):
        pieces = text.split(sep)
        if len(pieces) == 1:
            continue
        if sep.strip():  # punctuation stays with its sentence
            units, joiner = [p + sep for p in pieces[:-1]] + [pieces[-1]], ""
        else:
            units, joiner = pieces, sep
        parts: List[str] = []
        current = ""
        for unit in units:
            candidate = current + joiner + unit if current else unit
            if measure(candidate) <= limit:
                current = candidate
                continue
            if current.strip():
                parts.append(current.strip())
            if measure(unit) <= limit:
                current = unit
            else:
                parts.extend(_split(unit.strip(), limit, measure, seps[i + 1:]))
                current = ""
        if current.strip():
            parts.append(current.strip())
        return [p for p in parts if p]
    return _hard_cut(text, limit, measure)


def _hard_cut(text: str, limit: int, measure: Callable[[str], int]) -> List[str]:
    parts, current = [], ""
    for ch in text:
        if current and measure(current + ch) > limit:
            parts.append(current)
            current = ""
        current += ch
    if current:
        parts.append(current)
    return parts
