"""LocalStack's own Lambda invokes skip what only requests from outside need.

API Gateway invoking bookFlight and EventBridge invoking registerBooking and
sendBookingReceipt call Lambda's ``Invoke`` through an internal botocore client. With
``IN_MEMORY_CLIENT`` (set by ``sandbox.runner``) such a request enters LocalStack's handler
chain in memory (``GatewayShortCircuit``), but it still passes every handler that a request
from outside needs: CORS, edge routes, ``/_localstack`` resources, content decoding, schema
checks for LocalStack's own endpoints, pre-signed URLs and a missing signature. For this
request each of those does nothing (a review checked each against LocalStack 4.14's source:
CORS acts only with an Origin, the edge routes match other hosts and paths, and so on). And
the protocol parser matches the path against Lambda's routes to find the operation and the
function's name, both of which the client had. Those internal invokes were about 5 to 8 % of
LocalStack's CPU per booking, most of it the route matching (sequential A/B runs,
docs/performance.md).

This module hands such a request to a chain of the same gateway's handlers without those
(:func:`skipped_handlers`), and with :class:`KeptPathParser` where the parser stood: the
parser's own code for the members (headers, query, payload), given the path parameters the
client was called with. Everything else runs as before: the internal request parameters
(source ARN, service principal), region and account from the signature, the trace header,
the pre-processing and custom handlers that extensions add, the Lambda provider's own
``Invoke`` with its checks, its serialised answer or error, the response handlers (logging,
analytics) and the exception handlers; botocore still signs the request and parses the
answer. Only ``Invoke`` of an internal Lambda client, only in memory, and not while
``DEBUG_HANDLER_CHAIN`` traces the gateway's chains; anything else goes through the whole
chain. The handler lists are taken once, at the first such invoke (LocalStack 4.14 never
changes them after its start).

There is no seam for it: ``GatewayShortCircuit.__call__`` is wrapped (the original runs in
every case, for these calls with a :class:`TrimmedGateway` in place of the gateway), and the
client's parameters are kept by a ``before-parameter-build`` handler on internal Lambda
clients (``InternalClientFactory._get_client_post_hook`` wrapped). Installed once at
LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import copy
import functools
import logging
from typing import Any

LOG = logging.getLogger(__name__)
TRIMMED = (
    "internal Lambda invokes take a trimmed handler chain (sandbox/speedups/internal_invoke.py)"
)
PARAMS_KEY = "skybook_invoke_params"  # in botocore's request context


def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """``before-parameter-build.lambda.Invoke``: the parameters as the client was called."""
    context[PARAMS_KEY] = dict(params)


def skipped_handlers() -> list[Any]:
    """The gateway's handlers that do nothing for an internal ``Invoke``."""
    from localstack.aws import handlers

    return [
        handlers.enforce_cors,  # no Origin
        handlers.add_cors_response_headers,
        handlers.content_decoder,  # no Content-Encoding
        handlers.validate_request_schema,  # LocalStack's own endpoints
        handlers.validate_response_schema,
        handlers.serve_localstack_resources,  # /_localstack
        handlers.serve_edge_router_rules,  # routes by host or path outside the AWS APIs
        handlers.parse_pre_signed_url_request,  # S3
        handlers.inject_auth_header_if_missing,  # botocore signed it
    ]


class KeptPathParser:
    """Stands where LocalStack's ``parse_service_request`` stands: its parser's own code for
    the members (headers, query, body: ``_parse_payload``), given the path parameters the
    client was called with. What is skipped is matching the path against every route of the
    service, which only recovers those."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def __call__(self, chain: Any, context: Any, response: Any) -> None:
        from localstack.aws.protocol.parser import create_parser

        shape = context.operation.input_shape
        uri_params = {
            member.serialization.get("name", name): self.params[name]
            for name, member in shape.members.items()
            if member.serialization.get("location") == "uri" and name in self.params
        }
        parsed: dict[str, Any] = {}
        parser = create_parser(context.service, context.protocol)
        parser._parse_payload(context.request, shape, shape.members, uri_params, parsed)
        context.service_request = parsed


class TrimmedChain:
    """A gateway's handler lists without :func:`skipped_handlers`, taken once, and with a
    :class:`KeptPathParser` for LocalStack's parser in each request's chain."""

    def __init__(self, gateway: Any) -> None:
        from localstack.aws import handlers
        from localstack.aws.handlers.service import ServiceRequestRouter

        skipped = {id(handler) for handler in skipped_handlers()}
        kept = [h for h in gateway.request_handlers if id(h) not in skipped]
        parser = [i for i, h in enumerate(kept) if h is handlers.parse_service_request]
        # Without the parser or the router the chain is not what this expects: no shortcut.
        self.usable = len(parser) == 1 and any(isinstance(h, ServiceRequestRouter) for h in kept)
        at = parser[0] if self.usable else 0
        self.before_parsing, self.after_parsing = kept[:at], kept[at + 1 :]
        self.response_handlers = [h for h in gateway.response_handlers if id(h) not in skipped]
        self.finalizers = list(gateway.finalizers)
        self.exception_handlers = list(gateway.exception_handlers)

    def handle(self, context: Any, response: Any, params: dict[str, Any]) -> None:
        from rolo.gateway.chain import HandlerChain

        request_handlers = [*self.before_parsing, KeptPathParser(params), *self.after_parsing]
        chain = HandlerChain(
            request_handlers, self.response_handlers, self.finalizers, self.exception_handlers
        )
        chain.handle(context, response)


class TrimmedGateway:
    """Stands for the gateway in LocalStack's own ``GatewayShortCircuit`` for one call, which
    still builds the request context and the answer as it always does."""

    def __init__(self, chain: TrimmedChain, params: dict[str, Any]) -> None:
        self.chain, self.params = chain, params

    def handle(self, context: Any, response: Any) -> None:
        self.chain.handle(context, response, self.params)


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    from localstack import config
    from localstack.aws import connect
    from localstack.aws.client import GatewayShortCircuit

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
        kept = (params.get("context") or {}).get(PARAMS_KEY)  # only an internal Lambda Invoke
        if kept is None or config.DEBUG_HANDLER_CHAIN:
            return short_circuit(self, event_name, request, **kwargs)
        chain = chains.get(id(self.gateway))
        if chain is None:
            chain = chains[id(self.gateway)] = TrimmedChain(self.gateway)
            if chain.usable:
                LOG.info(TRIMMED)
            else:
                LOG.warning(
                    "internal Lambda invokes take the whole chain: no single parser and router"
                )
        if not chain.usable:
            return short_circuit(self, event_name, request, **kwargs)
        trimmed = copy.copy(self)  # LocalStack's short circuit, with the trimmed chain
        trimmed.gateway = TrimmedGateway(chain, kept)
        return short_circuit(trimmed, event_name, request, **kwargs)

    connect.InternalClientFactory._get_client_post_hook = _get_client_post_hook  # type: ignore[method-assign]
    GatewayShortCircuit.__call__ = __call__  # type: ignore[method-assign]
