"""Ids a client names: one canonical form (lower case) whatever case it was written in."""

from __future__ import annotations

import uuid

import pytest

from chat_service.convert import chat_id_from, message_id_from
from chat_service.ids import canonical_id, new_id
from server_kit.errors import InvalidArgument


def test_a_canonical_id_in_any_case_reads_as_lower_case() -> None:
    made = new_id()
    assert canonical_id(made) == made
    assert canonical_id(made.upper()) == made
    assert chat_id_from(made.upper()) == made
    assert message_id_from(made.upper(), "message_id") == made


@pytest.mark.parametrize(
    "text",
    [
        uuid.uuid4().hex,  # no hyphens
        "{" + str(uuid.uuid4()) + "}",
        "urn:uuid:" + str(uuid.uuid4()),
        str(uuid.uuid4()) + " ",
        "not-an-id",
        "",
    ],
)
def test_other_spellings_of_an_id_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        canonical_id(text)
    with pytest.raises(InvalidArgument):
        chat_id_from(text)


def test_new_ids_are_canonical_version_7_and_strictly_increasing() -> None:
    made = [new_id() for _ in range(2000)]  # many within one millisecond
    assert made == sorted(made) and len(set(made)) == len(made)
    for text in made[:50]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
