"""Reading the two failed-event queues' messages (the shapes Lambda and EventBridge write)."""

from __future__ import annotations

import json

from skybook.dlq import EVENTS_DLQ, FAILED_EVENTS, _parse

EVENT = {
    "id": "e-1",
    "source": "bookFlight",
    "detail-type": "flightBooked",
    "detail": {"bookingId": "b-1", "destination": "LHR"},
}
ARN = "arn:aws:lambda:us-east-1:000000000000:function:skybook-registerBooking"


def message(body: object, **extra: object) -> dict[str, object]:
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body if isinstance(body, str) else json.dumps(body),
        "Attributes": {"SentTimestamp": "1798761600000"},
        **extra,
    }


def test_lambda_on_failure_record() -> None:
    record = {
        "timestamp": "2026-11-27T05:00:00.000Z",
        "requestContext": {
            "functionArn": ARN + ":$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": EVENT,
        "responsePayload": {"errorType": "FaultInjected", "errorMessage": "boom"},
    }
    failed = _parse(FAILED_EVENTS, message(record))
    assert failed.function == "skybook-registerBooking"
    assert failed.attempts == 3
    assert failed.condition == "RetriesExhausted"
    assert failed.error == "FaultInjected: boom"
    assert failed.event == EVENT
    assert failed.booking_id == "b-1"
    assert failed.detail_type == "flightBooked"
    assert failed.failed_at == "2026-11-27T05:00:00.000Z"


def test_eventbridge_dead_letter() -> None:
    attributes = {
        "TARGET_ARN": {"StringValue": ARN, "DataType": "String"},
        "RETRY_ATTEMPTS": {"StringValue": "7", "DataType": "String"},
        "ERROR_CODE": {"StringValue": "ResourceNotFoundException", "DataType": "String"},
        "ERROR_MESSAGE": {"StringValue": "Function not found", "DataType": "String"},
    }
    failed = _parse(EVENTS_DLQ, message(EVENT, MessageAttributes=attributes))
    assert failed.function == "skybook-registerBooking"
    assert failed.function_arn == ARN
    assert failed.attempts == 8
    assert failed.error == "ResourceNotFoundException: Function not found"
    assert failed.event == EVENT
    assert failed.failed_at == "2027-01-01T00:00:00.000Z"


def test_unreadable_messages_are_listed_not_fatal() -> None:
    failed = _parse(FAILED_EVENTS, message("not json at all"))
    assert failed.function == ""
    assert "unreadable" in failed.error
    assert failed.event == {"raw": "not json at all"}
    assert failed.booking_id is None
