"""The intent to target match: words of names and sentences, the best share, ties and misses named."""

from __future__ import annotations

import pytest

from raylake.ml.intent import AmbiguousIntent, target_from_intent, words

COLUMNS = ["CustomerID", "Tenure", "Monthly", "Plan", "Joined", "Score", "Churn", "Spend"]


def test_words_split_camel_snake_and_spaces():
    assert words("CustomerID") == ["customer", "id"]
    assert words("monthly_spend_USD") == ["monthly", "spend", "usd"]
    assert words("Predict customer churn, based on usage!") == [
        "predict",
        "customer",
        "churn",
        "based",
        "on",
        "usage",
    ]


def test_the_column_the_intent_names_wholly_wins():
    assert target_from_intent("Predict customer churn based on usage patterns", COLUMNS) == "Churn"
    assert target_from_intent("which customers churned?", COLUMNS) == "Churn"
    assert target_from_intent("estimate what each customer spends", COLUMNS) == "Spend"
    assert target_from_intent("the customer id", COLUMNS) == "CustomerID"
    assert target_from_intent("Forecast house prices", ["house_id", "price", "rooms"]) == "price"


def test_a_tie_or_no_match_is_ambiguous_and_names_the_candidates():
    with pytest.raises(AmbiguousIntent) as tie:
        target_from_intent("predict churn and spend", COLUMNS)
    assert tie.value.candidates == ["Churn", "Spend"]
    with pytest.raises(AmbiguousIntent) as none:
        target_from_intent("predict the weather", COLUMNS)
    assert none.value.candidates == COLUMNS and "Tenure" in str(none.value)


def test_short_words_do_not_extend_into_others():
    # "on" is not "one"; "plans" is "plan", and "planet" is another word
    assert target_from_intent("predict based on usage", ["one", "usage"]) == "usage"
    assert target_from_intent("which plans sell", ["Plan", "Planet"]) == "Plan"
