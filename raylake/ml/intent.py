"""A free-text intent ("Predict customer churn based on usage patterns") to the column it asks for.

A column scores the share of its name's words that the intent names (``CustomerID`` is ``customer``
and ``id``: half named by that intent; ``Churn`` wholly). Words match when equal or when one extends
the other by an inflection (``churn``/``churned``/``churning``, ``price``/``prices``). The best score
wins; a tie at the top, or no column named at all, is ambiguous and names the candidates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CAMEL = re.compile(r"([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")
# A word may extend another by one of these endings and still be the same word.
_ENDINGS = ("s", "es", "ed", "d", "ing", "er", "ers", "ly")


class AmbiguousIntent(ValueError):
    """The intent names no column, or names several equally: ``candidates`` are the columns to pick from."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


def words(text: str) -> list[str]:
    """A name's or a sentence's words, lower case: camelCase, snake_case and spaces split."""
    spaced = _CAMEL.sub(lambda m: f"{m[1] or m[3]} {m[2] or m[4]}", text)
    return _WORD.findall(spaced.lower())


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 3 and long.startswith(short) and long[len(short) :] in _ENDINGS


def score(intent_words: Sequence[str], column: str) -> float:
    """The share of the column's words the intent names (0 to 1)."""
    parts = words(column)
    if not parts:
        return 0.0
    named = sum(1 for part in parts if any(_same(part, word) for word in intent_words))
    return named / len(parts)


def target_from_intent(intent: str, columns: Sequence[str]) -> str:
    """The column the intent asks to predict; AmbiguousIntent when none or several fit best."""
    said = words(intent)
    scores = {column: score(said, column) for column in columns}
    best = max(scores.values(), default=0.0)
    if best == 0.0:
        raise AmbiguousIntent(
            f"the intent names none of the columns; name one of: {', '.join(columns)}", list(columns)
        )
    top = [column for column, value in scores.items() if value == best]
    if len(top) > 1:
        raise AmbiguousIntent(f"the intent fits several columns equally: {', '.join(top)}", top)
    return top[0]
