"""openapi/book-flight.yaml stays true to the code that answers the requests.

The spec is validated as OpenAPI 3.1; its enums and bounds are compared with the
functions' constants; its examples validate against their own schemas; and the answers the
real bookFlight handler gives (under moto) validate against the spec's response schemas,
so a new message or field in the code fails here until the spec says it too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from book_flight import app as book_flight_app
from common import validation
from common.validation import (
    DESTINATIONS,
    MAX_BODY_BYTES,
    MAX_SEATS,
    MIN_SEATS,
    REQUEST_FIELDS,
    ValidationError,
    parse_booking_request,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_spec
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.unit.functions.helpers import (
    BUS,
    REGION,
    Context,
    create_table,
    handler_env,
    seed_flight,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILE = ROOT / "openapi" / "book-flight.yaml"

SPEC: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
OPERATION = SPEC["paths"]["/book-flight"]["post"]
REQUEST = SPEC["components"]["schemas"]["BookingRequest"]
REGISTRY: Registry = Registry().with_resource("urn:spec", DRAFT202012.create_resource(SPEC))


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for a schema of the spec, its ``#/components/...`` refs resolved."""
    wrapped = {"$id": "urn:schema", "$defs": {}, **schema}
    text = json.dumps(wrapped).replace('"#/components/', '"urn:spec#/components/')
    return Draft202012Validator(json.loads(text), registry=REGISTRY, format_checker=FormatChecker())


def response_validator(status: int) -> Draft202012Validator:
    media = OPERATION["responses"][str(status)]["content"]["application/json"]
    return validator(media["schema"])


def request_validator() -> Draft202012Validator:
    return validator(OPERATION["requestBody"]["content"]["application/json"]["schema"])


def test_spec_is_valid_openapi() -> None:
    validate_spec(SPEC)
    assert SPEC["openapi"].startswith("3.")


def test_request_schema_matches_the_validator_constants() -> None:
    props = REQUEST["properties"]
    assert REQUEST["additionalProperties"] is False
    assert tuple(props) == REQUEST_FIELDS
    assert tuple(REQUEST["required"]) == REQUEST_FIELDS
    assert tuple(props["destination"]["enum"]) == DESTINATIONS
    assert props["numberOfSeats"]["type"] == "integer"
    assert (props["numberOfSeats"]["minimum"], props["numberOfSeats"]["maximum"]) == (
        MIN_SEATS,
        MAX_SEATS,
    )
    assert props["flightDate"]["format"] == "date"
    assert props["bookerEmail"]["format"] == "email"
    assert OPERATION["requestBody"]["x-max-body-bytes"] == MAX_BODY_BYTES
    field_names = SPEC["components"]["schemas"]["FieldName"]["enum"]
    assert tuple(field_names) == REQUEST_FIELDS
    assert f"{MAX_BODY_BYTES} bytes" in json.dumps(OPERATION["responses"]["413"])


def test_every_documented_status_is_one_the_code_answers() -> None:
    assert set(OPERATION["responses"]) == {"200", "400", "404", "413", "415", "500", "503"}
    for response in OPERATION["responses"].values():
        assert list(response["content"]) == ["application/json"]


def examples() -> list[tuple[str, Any, Draft202012Validator]]:
    found = []
    body = OPERATION["requestBody"]["content"]["application/json"]
    found += [
        (f"request/{k}", v["value"], request_validator()) for k, v in body["examples"].items()
    ]
    for status, response in OPERATION["responses"].items():
        media = response["content"]["application/json"]
        found += [
            (f"{status}/{name}", ex["value"], response_validator(int(status)))
            for name, ex in media["examples"].items()
        ]
    return found


@pytest.mark.parametrize(("name", "value", "schema"), examples(), ids=lambda x: str(x)[:40])
def test_examples_validate(name: str, value: Any, schema: Draft202012Validator) -> None:
    schema.validate(value)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"message": "Processing flight booking", "bookingId": "not-a-uuid"}),
        (200, {"message": "Processing flight booking"}),
        (400, {"message": "Invalid seats: x", "field": "seats"}),
        (400, {"message": "Missing required parameters", "missing": []}),
        (400, {"message": "Something else"}),
        (404, {"message": "Flight not found", "detail": "x"}),
        (413, {"message": "Request body exceeds 1 bytes"}),
        (415, {}),
    ],
)
def test_response_schemas_bite(status: int, body: dict[str, Any]) -> None:
    """The schemas are strict enough that the checks below mean something."""
    assert not response_validator(status).is_valid(body)


def test_request_examples_are_accepted_by_the_code() -> None:
    body = OPERATION["requestBody"]["content"]["application/json"]
    for example in body["examples"].values():
        parse_booking_request({"headers": {}, "body": json.dumps(example["value"])})


# --- the schema and the code agree on what is valid -------------------------------------------

VALID = {
    "destination": "LHR",
    "flightDate": "2031-06-01",
    "numberOfSeats": 2,
    "bookerEmail": "ada@example.com",
}
FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from([*DESTINATIONS, "lhr", "2031-02-30", "2031-2-1", "a@b.co", "a@b", "a@b.c1"]),
    st.from_regex(r"[a-z0-9.+-]{1,10}@[a-z0-9-]{1,8}(\.[a-z]{1,4}){1,2}", fullmatch=True),
    st.lists(st.integers(), max_size=2),
)


def code_accepts(payload: Any) -> bool:
    try:
        parse_booking_request({"headers": {}, "body": json.dumps(payload)})
    except ValidationError:
        return False
    return True


@settings(max_examples=300, deadline=None, database=None)
@given(
    field=st.sampled_from(REQUEST_FIELDS),
    value=FIELD_VALUES,
)
def test_schema_and_code_agree_on_one_field(field: str, value: Any) -> None:
    payload = {**VALID, field: value}
    if field == "numberOfSeats" and isinstance(value, float) and value.is_integer():
        # JSON Schema counts 1.0 as an integer; the API refuses it (documented in the spec).
        assert not code_accepts(payload)
        return
    assert request_validator().is_valid(payload) == code_accepts(payload), payload


@settings(max_examples=150, deadline=None, database=None)
@given(
    drop=st.sets(st.sampled_from(REQUEST_FIELDS)),
    extra=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), max_size=2),
)
def test_schema_and_code_agree_on_fields_present(drop: set[str], extra: dict[str, int]) -> None:
    payload: dict[str, Any] = {k: v for k, v in VALID.items() if k not in drop}
    payload.update({k: v for k, v in extra.items() if k not in VALID})
    assert request_validator().is_valid(payload) == code_accepts(payload), payload


def test_email_pattern_is_the_validators_rule() -> None:
    pattern = re.compile(REQUEST["properties"]["bookerEmail"]["pattern"])
    samples = [
        "ada@example.com",
        "a.b+c@x-y.example.org",
        "o'neil@example.ie",
        "a..b@example.com",
        ".a@example.com",
        "a@-x.com",
        "a@x-.com",
        "a@x.c",
        "a@x.c0m",
        "a@localhost",
        "<script>@x.com",
        'a"b@x.com',
        "a b@x.com",
        "x" * 64 + "@example.com",
        "x" * 65 + "@example.com",
        "a@" + "b" * 63 + ".com",
        "a@" + "b" * 64 + ".com",
    ]
    for sample in samples:
        try:
            validation.check_email(sample)
            accepted = True
        except ValidationError:
            accepted = False
        assert bool(pattern.fullmatch(sample)) == accepted, sample


# --- the code's answers validate against the spec ---------------------------------------------


def _error(event: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_booking_request(event)
    return caught.value


@pytest.mark.parametrize(
    "event",
    [
        {"headers": {"Content-Type": "text/plain"}, "body": "{}"},
        {"headers": {}, "body": None},
        {"headers": {}, "body": "[1]"},
        {"headers": {}, "body": "{nope"},
        {"headers": {}, "body": "NaN"},
        {"headers": {}, "body": "{}"},
        {"headers": {}, "body": json.dumps({**VALID, "x": 1, "y": 2})},
        {"headers": {}, "body": json.dumps({**VALID, "numberOfSeats": 0})},
        {"headers": {}, "body": json.dumps({**VALID, "destination": "<b>"})},
        {"headers": {}, "body": "x" * (MAX_BODY_BYTES + 1)},
        {"headers": {}, "body": "%%%", "isBase64Encoded": True},
        {
            "headers": {},
            "body": base64.b64encode(b" " * (MAX_BODY_BYTES + 1)).decode(),
            "isBase64Encoded": True,
        },
    ],
    ids=lambda e: str(e.get("body"))[:30],
)
def test_validation_errors_match_the_spec(event: dict[str, Any]) -> None:
    error = _error(event)
    assert str(error.status) in OPERATION["responses"]
    response_validator(error.status).validate(error.body)


@pytest.fixture
def book_flight(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The bookFlight handler on a moto table and bus."""
    with handler_env(monkeypatch):
        seed_flight(create_table(), "LHR", str(VALID["flightDate"]), 3)
        boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)
        yield book_flight_app


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, 200),
        ({"numberOfSeats": 4}, 400),
        ({"destination": "CDG"}, 404),
        ({"flightDate": "2031-02-30"}, 400),
    ],
)
def test_handler_answers_match_the_spec(
    book_flight: Any, change: dict[str, Any], status: int
) -> None:
    event = {
        "httpMethod": "POST",
        "path": "/book-flight",
        "headers": {"content-type": "application/json; charset=utf-8"},
        "body": json.dumps({**VALID, **change}),
        "isBase64Encoded": False,
    }
    response = book_flight.handler(event, Context())
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/json"
    response_validator(status).validate(json.loads(response["body"]))
