"""dbt tags become valid Dagster tag keys by a predictable rule; collisions are refused."""

from __future__ import annotations

import pytest
from dagster._utils.tags import is_valid_tag_key
from hypothesis import given
from hypothesis import strategies as st

from floe_orchestrator_dagster.dbt.tags import TagMapper, dagster_tag_key, sanitize_tag_section
from floe_orchestrator_dagster.errors import TagCollisionError


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("nightly", "nightly"),
        ("pii:email", "pii_email"),
        ("Finance Team", "Finance_Team"),
        ("team/finance", "team_finance"),
        ("données", "donn_es"),
        ("v1.2-beta_3", "v1.2-beta_3"),
        ("", "_"),
    ],
)
def test_invalid_characters_become_underscores(tag: str, key: str) -> None:
    assert dagster_tag_key(tag) == key


def test_long_tags_are_cut_to_63_characters() -> None:
    assert dagster_tag_key("x" * 100) == "x" * 63


def test_a_prefix_becomes_the_tag_namespace_and_is_sanitised_itself() -> None:
    assert dagster_tag_key("nightly", prefix="floe") == "floe/nightly"
    assert dagster_tag_key("nightly", prefix="my team/x") == "my_team_x/nightly"


@given(tag=st.text(max_size=80), prefix=st.text(max_size=80))
def test_every_mapped_key_is_valid_for_dagster(tag: str, prefix: str) -> None:
    assert is_valid_tag_key(dagster_tag_key(tag, prefix))
    assert is_valid_tag_key(sanitize_tag_section(tag))


def test_two_tags_mapping_to_one_key_raise_naming_both_and_where_they_were_seen() -> None:
    mapper = TagMapper()
    mapper.register(["pii:email"], owner="model 'orders'")
    with pytest.raises(TagCollisionError) as raised:
        mapper.register(["pii email"], owner="model 'customers'")
    message = str(raised.value)
    for text in ("'pii:email'", "'pii email'", "'pii_email'", "orders", "customers"):
        assert text in message
    assert isinstance(raised.value, ValueError)


def test_collisions_are_refused_across_assets_not_only_within_one() -> None:
    mapper = TagMapper()
    assert mapper.tags_for(["a_b"], owner="x") == {"a_b": ""}
    with pytest.raises(TagCollisionError, match="'a b'"):
        mapper.tags_for(["a b", "c"], owner="y")


def test_tags_cut_to_the_same_63_characters_collide() -> None:
    mapper = TagMapper()
    mapper.register(["x" * 63 + "a"])
    with pytest.raises(TagCollisionError):
        mapper.register(["x" * 63 + "b"])


def test_the_same_tag_on_many_assets_and_different_cases_do_not_collide() -> None:
    mapper = TagMapper(prefix="floe")
    mapper.register(["pii", "PII"], owner="a")
    assert mapper.tags_for(["pii", "PII"], owner="b") == {"floe/pii": "", "floe/PII": ""}
