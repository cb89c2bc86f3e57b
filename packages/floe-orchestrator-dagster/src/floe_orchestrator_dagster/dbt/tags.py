"""dbt/floe tags → Dagster tag keys, predictably, with collisions refused.

dbt tags are free-form strings (``"nightly"``, ``"pii:email"``, ``"Finance Team"``); Dagster
asset tags are ``key → value`` pairs whose keys must match Dagster's validation
(``dagster._utils.tags.is_valid_tag_key``, unchanged from Dagster 1.10 through 1.13)::

    ^([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}$

**The mapping rule** (every dbt tag becomes the key of one Dagster tag whose value is ``""``,
as dagster-dbt does for valid tags):

1. every character outside ``A-Z a-z 0-9 _ . -`` becomes ``_`` (so ``pii:email`` →
   ``pii_email``, ``Finance Team`` → ``Finance_Team``, ``team/finance`` → ``team_finance``;
   a non-ASCII letter is one character, so ``données`` → ``donn_es``);
2. the result is cut to its first 63 characters;
3. with a ``tag_prefix`` (``TranslatorSettings.tag_prefix``), the key is ``<prefix>/<name>``;
   the prefix goes through rules 1-2 itself, so it is always a single valid namespace.

Case is kept: Dagster tag keys are case-sensitive, so ``PII`` and ``pii`` stay distinct.

**Collisions.** Two *different* tags that map to the same key (``pii:email`` and
``pii_email``, or two long tags sharing their first 63 characters) would merge silently in
Dagster, where tags drive selection (``AssetSelection.tag``, the UI's tag filter). The scope
is the whole set of definitions, not one asset: the same key meaning two things on two assets
is just as misleading when selecting by it. :class:`TagMapper` refuses them with
:class:`~floe_orchestrator_dagster.errors.TagCollisionError` naming both original tags and
where each was seen, when the definitions are generated - never at run time.

>>> mapper = TagMapper(prefix="floe")
>>> mapper.register(["nightly", "pii:email"], owner="model orders")
>>> dict(mapper.tags_for(["nightly", "pii:email"]))
{'floe/nightly': '', 'floe/pii_email': ''}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from floe_orchestrator_dagster.errors import TagCollisionError

__all__ = ["MAX_TAG_SECTION", "TagMapper", "dagster_tag_key", "sanitize_tag_section"]

#: The longest namespace or name section Dagster accepts in a tag key.
MAX_TAG_SECTION: Final = 63
_INVALID = re.compile(r"[^A-Za-z0-9_.-]")


def sanitize_tag_section(text: str) -> str:
    """One valid tag-key section: invalid characters → ``_``, cut to 63 characters.

    An empty string becomes ``_`` (Dagster needs at least one character).

    >>> sanitize_tag_section("Finance Team")
    'Finance_Team'
    """
    cleaned = _INVALID.sub("_", text)[:MAX_TAG_SECTION]
    return cleaned or "_"


def dagster_tag_key(tag: str, prefix: str = "") -> str:
    """The Dagster tag key for the dbt tag ``tag`` (rules in the module docstring).

    >>> dagster_tag_key("pii:email", prefix="floe")
    'floe/pii_email'
    """
    name = sanitize_tag_section(tag)
    return f"{sanitize_tag_section(prefix)}/{name}" if prefix else name


class TagMapper:
    """Maps tags to Dagster tag keys and refuses two tags that share a key.

    Register every tag before asking for an asset's tags (the translator registers all the
    artifacts' tags when it is built, so a collision fails definition generation at once);
    :meth:`tags_for` registers unseen tags too, so it is safe to call on its own.
    """

    __slots__ = ("_key_of", "_origin_of", "_prefix", "_seen_in")

    def __init__(self, *, prefix: str = "") -> None:
        self._prefix = prefix
        self._key_of: dict[str, str] = {}
        self._origin_of: dict[str, str] = {}
        self._seen_in: dict[str, str] = {}

    @property
    def prefix(self) -> str:
        return self._prefix

    def key(self, tag: str, *, owner: str = "") -> str:
        """The Dagster key of ``tag``; :class:`TagCollisionError` if another tag has it."""
        known = self._key_of.get(tag)
        if known is not None:
            return known
        key = dagster_tag_key(tag, self._prefix)
        other = self._origin_of.get(key)
        if other is not None and other != tag:
            where = self._seen_in.get(other, "")
            raise TagCollisionError(
                f"tags {other!r}{f' (on {where})' if where else ''} and {tag!r}"
                f"{f' (on {owner})' if owner else ''} both become the Dagster tag key "
                f"{key!r} (characters outside A-Z a-z 0-9 _ . - become '_' and keys are cut "
                "to 63 characters); rename one of them in dbt so that they stay distinct"
            )
        self._key_of[tag] = key
        self._origin_of[key] = tag
        if owner:
            self._seen_in[tag] = owner
        return key

    def register(self, tags: Iterable[str], *, owner: str = "") -> None:
        """Map every tag of ``tags`` now (``owner`` names where they were seen, for messages)."""
        for tag in tags:
            self.key(tag, owner=owner)

    def tags_for(self, tags: Iterable[str], *, owner: str = "") -> Mapping[str, str]:
        """The Dagster tags (``{key: ""}``) of an asset carrying ``tags``."""
        return {self.key(tag, owner=owner): "" for tag in tags}
