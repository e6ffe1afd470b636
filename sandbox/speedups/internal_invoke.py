"""LocalStack's own Lambda invokes skip the handlers that only requests from outside need.

API Gateway invoking bookFlight and EventBridge invoking registerBooking and
sendBookingReceipt call Lambda's ``Invoke`` through an internal botocore client. With
``IN_MEMORY_CLIENT`` (set by ``sandbox.runner``) such a request enters LocalStack's handler
chain in memory (``GatewayShortCircuit``), but it still passes every handler that a request
from outside needs: CORS, edge routes, ``/_localstack`` resources, data-plane hosts, content
decoding, schema checks for LocalStack's own endpoints, pre-signed URLs and a missing
signature. For this request each of those does nothing. And the protocol parser
turns the HTTP request that botocore has just serialised back into the parameters the client
was called with.

This module hands such a request to a chain of the same gateway's handlers without those
(``SKIPPED``), with the client's own parameters as the parsed request (``Payload`` as the
parser gives it: a stream over the body). Everything else runs as before: the internal
request parameters (source ARN, service principal), region and account from the signature,
the trace header, custom handlers of extensions, the Lambda provider's own ``Invoke`` with its
checks, its serialised answer or error, the response handlers (logging, analytics) and the
exception handlers; botocore still signs the request and parses the answer. Only ``Invoke``
of an internal Lambda client, only in memory; anything else goes through the whole chain.
Measured in docs/performance.md.

There is no seam for it: ``GatewayShortCircuit.__call__`` is wrapped (the original for
everything else), and the client parameters are kept by a ``before-parameter-build`` handler
on internal Lambda clients (``InternalClientFactory._get_client_post_hook`` wrapped). Installed
once at LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
from typing import Any

PARAMS_KEY = "skybook_invoke_params"  # in botocore's request context


def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """``before-parameter-build.lambda.Invoke``: the parameters as the client was called."""
    context[PARAMS_KEY] = dict(params)


def skipped_handlers() -> list[Any]:
    """The gateway's handlers that do nothing for an internal ``Invoke`` (the parser aside)."""
    from localstack.aws import handlers

    return [
        handlers.parse_service_request,  # replaced by the client's own parameters
        handlers.enforce_cors,  # no Origin
        handlers.add_cors_response_headers,
        handlers.preprocess_request,  # S3 hosts
        handlers.content_decoder,  # no Content-Encoding
        handlers.validate_request_schema,  # LocalStack's own endpoints
        handlers.validate_response_schema,
        handlers.serve_localstack_resources,  # /_localstack
        handlers.serve_edge_router_rules,  # routes by host or path outside the AWS APIs
        handlers.parse_pre_signed_url_request,  # S3
        handlers.inject_auth_header_if_missing,  # botocore signed it
    ]


class TrimmedChain:
    """A gateway's handler lists without :func:`skipped_handlers`, taken once."""

    def __init__(self, gateway: Any) -> None:
        from localstack.aws.handlers.service import ServiceRequestRouter

        skipped = {id(handler) for handler in skipped_handlers()}
        self.request_handlers = [h for h in gateway.request_handlers if id(h) not in skipped]
        self.response_handlers = [h for h in gateway.response_handlers if id(h) not in skipped]
        self.finalizers = list(gateway.finalizers)
        self.exception_handlers = list(gateway.exception_handlers)
        # Without the router the request would end as an empty 404: then do not shortcut.
        self.usable = any(isinstance(h, ServiceRequestRouter) for h in self.request_handlers)

    def handle(self, context: Any, response: Any) -> None:
        from rolo.gateway.chain import HandlerChain

        chain = HandlerChain(
            self.request_handlers, self.response_handlers, self.finalizers, self.exception_handlers
        )
        chain.handle(context, response)


def service_request(params: dict[str, Any], request: Any) -> dict[str, Any]:
    """What LocalStack's parser makes of an ``Invoke`` request, from the client's parameters:
    the same members; the payload as a stream over the body, and only when there is one."""
    parsed = {name: value for name, value in params.items() if name != "Payload"}
    if request.content_length != 0:
        parsed["Payload"] = request._get_stream_for_parsing()
    return parsed


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from botocore.awsrequest import AWSResponse
    from localstack import config
    from localstack.aws import connect
    from localstack.aws.api import RequestContext
    from localstack.aws.client import GatewayShortCircuit, _ResponseStream, create_http_request
    from localstack.http import Response

    if not config.IN_MEMORY_CLIENT:
        return
    post_hook = connect.InternalClientFactory._get_client_post_hook
    short_circuit = GatewayShortCircuit.__call__
    chains: dict[int, TrimmedChain] = {}

    @functools.wraps(post_hook)
    def _get_client_post_hook(self: Any, client: Any) -> Any:
        client = post_hook(self, client)
        if client.meta.service_model.service_name == "lambda":
            client.meta.events.register("before-parameter-build.lambda.Invoke", keep_params)
        return client

    @functools.wraps(short_circuit)
    def __call__(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        params = getattr(request, "params", None) or {}
        operation = getattr(request, "operation_model", None)
        kept = (params.get("context") or {}).get(PARAMS_KEY)
        if (
            kept is None
            or operation is None
            or operation.name != "Invoke"
            or operation.service_model.service_name != "lambda"
            or self._internal_url not in request.url
        ):
            return short_circuit(self, event_name, request, **kwargs)
        chain = chains.get(id(self.gateway))
        if chain is None:
            chain = chains[id(self.gateway)] = TrimmedChain(self.gateway)
        if not chain.usable:
            return short_circuit(self, event_name, request, **kwargs)
        context = RequestContext(request=create_http_request(request))
        context.service = operation.service_model
        context.operation = operation
        context.service_request = service_request(kept, context.request)  # type: ignore[assignment]
        response = Response()
        chain.handle(context, response)
        return AWSResponse(
            url=context.request.url,
            status_code=response.status_code,
            headers=response.headers,
            raw=_ResponseStream(response),
        )

    connect.InternalClientFactory._get_client_post_hook = _get_client_post_hook  # type: ignore[method-assign]
    GatewayShortCircuit.__call__ = __call__  # type: ignore[method-assign]
