"""Which passwords are refused: the guessable ones, as NIST SP 800-63B (5.1.1.2) asks.

Length is checked where the request is parsed (``schemas/auth.py``). Here zxcvbn estimates how many
guesses a password takes against the lists it ships (common and leaked passwords, names, English words,
keyboard walks, dates, repeats, sequences) and against the words of its context: the username, email,
names, tenant name and the product's name. Under ``MIN_SCORE`` it is a 422 that names the reason and
never repeats the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from zxcvbn import zxcvbn

from raylake.platform.errors import Invalid

# zxcvbn's 0-4 scale; 3 is "safely unguessable" (about 10^8 guesses or more): out of reach of an online
# attacker even without the login throttle.
MIN_SCORE = 3
PRODUCT_WORDS = ("raylake",)
# The longest password the API accepts (schemas/auth.py): zxcvbn's cost grows with length, and a longer
# configured one is judged by this much of it.
SCORED_LENGTH = 128


def context_words(values: Iterable[str | None]) -> list[str]:
    """The words a password must not be built from: each value and its alphanumeric parts."""
    words: list[str] = list(PRODUCT_WORDS)
    for value in values:
        if value:
            words.append(value.lower())
            words += [part for part in re.split(r"[^a-z0-9]+", value.lower()) if len(part) >= 3]
    return words


def check_password(password: str, *, context: Iterable[str | None]) -> None:
    """Refuse (422) a password that is common, or made of its user's, tenant's or the product's names."""
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=context_words(context), max_length=SCORED_LENGTH)
    if result["score"] >= MIN_SCORE:
        return
    if any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"]):
        reason = "it is made of the username, email, name, tenant name or the product's name."
    else:
        reason = result["feedback"]["warning"] or "it is short of words or characters nobody would guess."
    hint = " ".join(result["feedback"]["suggestions"])
    raise Invalid(f"Password is too easy to guess: {reason} {hint}".strip())
