"""Run by LocalStack's own Python (tests/sandbox/test_internal_invoke_parity.py): the same
internal ``lambda.Invoke`` calls through LocalStack's whole handler chain and through the
trimmed one of ``sandbox.speedups.internal_invoke``; prints, as JSON, what the Lambda
handler was given and what the client got back, for each path.

The gateway has LocalStack's own handlers in its own order (``localstack.aws.app``) except
the service loaders, and a router whose ``Invoke`` handler records its request context and
answers like Lambda (or raises Lambda's ``ResourceNotFoundException``).

Usage: ``python internal_invoke_side_by_side.py`` (no input).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo: sandbox.speedups

CALLS: list[dict[str, Any]] = [
    {"FunctionName": "arn:aws:lambda:eu-west-1:111111111111:function:f", "Payload": b'{"a":1}'},
    {
        "FunctionName": "f",
        "InvocationType": "RequestResponse",
        "LogType": "Tail",
        "ClientContext": "eyJ4IjoxfQ==",
        "Qualifier": "live",
        "Payload": '{"s": "\u00e9"}',
        "TenantId": " t 1\t",
        "DurableExecutionName": "d1",
    },
    {"FunctionName": "f", "InvocationType": "Event", "Payload": b"[1,2]", "TraceHeader": True},
    {"FunctionName": "f", "InvocationType": "DryRun"},
    {"FunctionName": "a/b", "Qualifier": "$LATEST", "Payload": b""},
    {"FunctionName": "f", "Payload": "file", "InvocationType": "enum Event"},
    {"FunctionName": "missing"},
]
SOURCE_ARN = "arn:aws:execute-api:us-east-1:000000000000:api/prod/POST/book-flight"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def gateway() -> Any:
    from localstack.aws import handlers
    from localstack.aws.api import CommonServiceException, RequestContext
    from localstack.aws.api.core import ServiceOperation
    from localstack.aws.chain import Handler
    from localstack.aws.gateway import Gateway
    from localstack.aws.handlers.service import ServiceRequestRouter
    from localstack.aws.spec import load_service
    from localstack.http import Response

    class RecordingLambda(Handler):
        seen: list[dict[str, Any]] = []

        def __call__(self, chain: Any, context: RequestContext, response: Response) -> None:
            request = dict(context.service_request or {})
            if "Payload" in request:
                request["Payload"] = request["Payload"].read().decode("latin-1")
            self.seen.append(
                {
                    "service_request": request,
                    "operation": context.operation.name,
                    "protocol": context.protocol,
                    "account": context.account_id,
                    "region": context.region,
                    "trace": context.request.headers.get("X-Amzn-Trace-Id")
                    and context.trace_context["aws_trace_header"].to_header_str(),
                    "internal": context.is_internal_call,
                    "internal_params": dict(context.internal_request_params or {}),
                    "user_agent": context.request.user_agent.string,
                    "partition": context.partition,
                    "headers": {
                        k: v
                        for k, v in context.request.headers.items()
                        if k.lower() not in ("authorization", "x-amz-date", "amz-sdk-invocation-id")
                    },
                }
            )
            if context.operation.name != "Invoke":
                response.set_data(b'{"Configuration": {"FunctionName": "f"}}')
                return
            if request["FunctionName"] == "missing":
                raise CommonServiceException(
                    "ResourceNotFoundException", "Function not found: missing", status_code=404
                )
            response.status_code = 202 if request.get("InvocationType") == "Event" else 200
            response.headers["X-Amz-Executed-Version"] = "$LATEST"
            response.set_data(b'{"answer": 42}')

    router = ServiceRequestRouter()
    recorder = RecordingLambda()
    router.add_handler(ServiceOperation("lambda", "Invoke"), recorder)
    router.add_handler(ServiceOperation("lambda", "GetFunction"), recorder)
    assert load_service("lambda")  # the spec loads outside a runtime
    gw = Gateway(
        request_handlers=[
            handlers.add_internal_request_params,
            handlers.handle_runtime_shutdown,
            handlers.preprocess_request,
            handlers.enforce_cors,
            handlers.content_decoder,
            handlers.validate_request_schema,
            handlers.serve_localstack_resources,
            handlers.serve_edge_router_rules,
            handlers.parse_service_name,
            handlers.parse_pre_signed_url_request,
            handlers.inject_auth_header_if_missing,
            handlers.add_region_from_header,
            handlers.rewrite_region,
            handlers.add_account_id,
            handlers.parse_trace_context,
            handlers.parse_service_request,
            handlers.serve_custom_service_request_handlers,
            router,
        ],
        exception_handlers=[
            handlers.log_exception,
            handlers.serve_custom_exception_handlers,
            handlers.handle_service_exception,
            handlers.handle_internal_failure,
        ],
        response_handlers=[
            handlers.validate_response_schema,
            handlers.modify_service_response,
            handlers.parse_service_response,
            handlers.run_custom_response_handlers,
            handlers.add_cors_response_headers,
            handlers.log_response,
            handlers.count_service_request,
        ],
        finalizers=[handlers.set_close_connection_header, handlers.run_custom_finalizers],
    )
    gw.recorder = recorder
    return gw


def arguments(case: dict[str, Any]) -> dict[str, Any]:
    """A case's parameters as callers pass them: EventBridge's ``TraceHeader`` object, a file
    object as the payload, LocalStack's own enum as the invocation type (fresh each time)."""
    import io

    from localstack.aws.api.lambda_ import InvocationType
    from localstack.utils.xray.trace_header import TraceHeader

    params = dict(case)
    if params.pop("TraceHeader", False):
        params["TraceHeader"] = TraceHeader.from_header_str(TRACE)
    if params.get("Payload") == "file":
        params["Payload"] = io.BytesIO(b'{"from": "a file"}')
    if params.get("InvocationType") == "enum Event":
        params["InvocationType"] = InvocationType.Event
    return params


def client_result(lam: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What the caller gets, as API Gateway calls it (with its source ARN and principal)."""
    from botocore.exceptions import ClientError

    if params["FunctionName"] == "GetFunction":
        answer = lam.get_function(FunctionName="f")
        answer["ResponseMetadata"].pop("RequestId", None)
        return {"answer": {"Configuration": answer["Configuration"]}}
    try:
        answer = lam.request_metadata(source_arn=SOURCE_ARN, service_principal="apigateway").invoke(
            **params
        )
    except ClientError as error:
        answer = dict(error.response)
    payload = answer.pop("Payload", None)
    metadata = answer["ResponseMetadata"]
    metadata.pop("RequestId", None)  # new for each request
    for header in ("x-amzn-requestid", "x-amz-request-id", "date"):
        metadata["HTTPHeaders"].pop(header, None)
    return {"answer": answer, "payload": payload.read().decode() if payload else None}


def main() -> None:
    import localstack.runtime
    from localstack import config
    from localstack.aws import client as ls_client
    from localstack.aws.connect import connect_to
    from localstack.aws.handlers.service import ServiceRequestParser
    from localstack.services.events.target import LambdaTargetSender

    from sandbox.speedups import internal_invoke

    config.IN_MEMORY_CLIENT = True
    ls_client.botocore_in_memory_endpoint_patch.apply()
    gw = gateway()

    class Runtime:
        class components:
            gateway = gw

    localstack.runtime.get_current_runtime = lambda: Runtime  # type: ignore[assignment]

    parsed = 0
    parse = ServiceRequestParser.parse_and_enrich

    def counting_parse(self: Any, context: Any) -> None:
        nonlocal parsed
        parsed += 1
        parse(self, context)

    ServiceRequestParser.parse_and_enrich = counting_parse  # type: ignore[method-assign]
    internal_invoke.install()
    lam = connect_to(region_name="us-east-1").lambda_
    # EventBridge's own hooks for its TraceHeader parameter, as its Lambda target registers them
    LambdaTargetSender._register_client_hooks(SimpleNamespace(service="lambda"), lam)
    event = "before-parameter-build.lambda.Invoke"
    out = []
    for params in [*CALLS, {"FunctionName": "GetFunction"}]:  # the last: not an Invoke
        result = {}
        for name in ("whole", "trimmed"):
            if name == "whole":
                lam.meta.events.unregister(event, internal_invoke.keep_params)
            else:
                lam.meta.events.register(event, internal_invoke.keep_params)
            parsed_before, seen_before = parsed, len(gw.recorder.seen)
            got = client_result(lam, arguments(params))
            result[name] = {
                "client": got,
                "handler": gw.recorder.seen[seen_before:],
                "parsed": parsed - parsed_before,
            }
        out.append(result)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
