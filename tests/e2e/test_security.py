"""Security properties of the running sandbox and the deployed stack.

- Loopback only: every listening socket of the sandbox's processes is on 127.0.0.0/8 or ::1.
- Least privilege: each function's role grants exactly what that function needs, on the
  stack's own resources, with no wildcard actions or resources and no managed policies.
- No secrets in what we write: the outputs, the sandbox's log files and the functions'
  CloudWatch logs hold no AWS secret keys, session tokens or LocalStack auth tokens.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import SandboxUnderTest
from tests.e2e.conftest import App, unique_date, unique_email, wait_for

pytestmark = pytest.mark.sandbox

# --- loopback only -------------------------------------------------------------------------


def _embedded(sandbox: SandboxUnderTest) -> Any:
    if sandbox.kind != "embedded":
        pytest.skip("inspects the processes of the embedded sandbox")
    return sandbox.embedded


def _listening(pids: set[int]) -> set[tuple[str, str, int]]:
    """(kind, address, port) of the listening TCP and bound UDP sockets of these processes."""
    found = set()
    for pid in pids:
        try:
            sockets = psutil.Process(pid).net_connections(kind="inet")
        except psutil.Error:
            continue  # gone meanwhile
        for conn in sockets:
            is_udp = conn.type == socket.SOCK_DGRAM
            if (is_udp and not conn.raddr) or conn.status == psutil.CONN_LISTEN:
                found.add(("udp" if is_udp else "tcp", conn.laddr.ip, conn.laddr.port))
    return found


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 address may carry its zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def test_every_listening_socket_is_on_loopback(app: App) -> None:
    """``app`` first: DynamoDB Local and the function processes are running by then."""
    embedded = _embedded(app.sandbox)
    pids = set(embedded.pids())  # the runner includes descendants
    assert pids, "the sandbox reports no processes"
    sockets = _listening(pids)
    gateway_port = int(app.sandbox.endpoint.rsplit(":", 1)[1])
    assert any(port == gateway_port for _, _, port in sockets), sockets
    exposed = [(t, a, p) for t, a, p in sockets if not _is_loopback(a)]
    assert not exposed, f"sockets reachable from outside this machine: {exposed}"


# --- IAM: least privilege ------------------------------------------------------------------

TABLE_READ = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
}
TABLE_WRITE = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}
LOGS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}


def _needs(outputs: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """Per function: action -> the ARNs it may act on (what its code calls, nothing more)."""
    region, account = outputs["region"], outputs["account"]
    table = f"arn:aws:dynamodb:{region}:{account}:table/{outputs['tableName']}"
    bus = outputs["eventBusArn"]
    ses = {f"arn:aws:ses:{region}:{account}:identity/{outputs['sesIdentity']}"} | {
        f"arn:aws:ses:{region}:{account}:template/{t}" for t in outputs["templates"]
    }

    def logs(function: str) -> dict[str, set[str]]:
        group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function}"
        return {action: {group, f"{group}:*"} for action in LOGS}

    def on_table(*actions: str) -> dict[str, set[str]]:
        return {action: {table} for action in actions}

    fn = outputs["functions"]
    return {
        "bookFlight": {"events:PutEvents": {bus}} | on_table(*TABLE_READ) | logs(fn["bookFlight"]),
        "registerBooking": on_table(*TABLE_READ, *TABLE_WRITE)
        | {"events:PutEvents": {bus}}
        | logs(fn["registerBooking"]),
        "sendBookingReceipt": {"ses:SendTemplatedEmail": ses}
        | on_table("dynamodb:GetItem", "dynamodb:UpdateItem")
        | logs(fn["sendBookingReceipt"]),
        "syncFlights": on_table("dynamodb:PutItem", "dynamodb:BatchWriteItem")
        | logs(fn["syncFlights"]),
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(document: dict[str, Any]) -> dict[str, set[str]]:
    """action -> resources of the Allow statements; refuses shapes that widen access."""
    grants: dict[str, set[str]] = {}
    for statement in _as_list(document.get("Statement", [])):
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), statement
        if statement.get("Effect") != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            grants.setdefault(action, set()).update(_as_list(statement["Resource"]))
    return grants


def _on_failure_queue(app: App, function: str) -> str | None:
    """The function's async on-failure destination, if the stack gives it one."""
    lam = app.sandbox.client("lambda")
    try:
        config = lam.get_function_event_invoke_config(FunctionName=function)
    except lam.exceptions.ResourceNotFoundException:
        return None
    destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return str(destination) if destination else None


def _document(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def test_each_role_grants_only_what_its_function_needs(app: App) -> None:
    iam, lam = app.sandbox.client("iam"), app.sandbox.client("lambda")
    stack, outputs = app.outputs["stack"], app.outputs
    roles = {
        r["RoleName"]: r
        for page in iam.get_paginator("list_roles").paginate()
        for r in page["Roles"]
        if r["RoleName"].startswith(f"{stack}-")
    }
    needs = _needs(outputs)
    used_roles = set()
    for logical, function in outputs["functions"].items():
        role_arn = lam.get_function_configuration(FunctionName=function)["Role"]
        role_name = role_arn.rsplit("/", 1)[1]
        assert role_name in roles, (function, role_arn)
        assert role_name not in used_roles, f"{role_name} is shared between functions"
        used_roles.add(role_name)

        trust = _document(roles[role_name]["AssumeRolePolicyDocument"])
        for statement in _as_list(trust["Statement"]):
            assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}, trust
            assert statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"]), trust
        attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        assert attached == [], f"{role_name} has managed policies: {attached}"

        grants: dict[str, set[str]] = {}
        for policy in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy)
            for action, resources in _grants(_document(document["PolicyDocument"])).items():
                grants.setdefault(action, set()).update(resources)

        for action, resources in grants.items():
            assert "*" not in action, f"{role_name}: wildcard action {action}"
            for resource in resources:
                assert resource != "*" and not resource.endswith(":*:*"), (role_name, resource)

        expected = {action: set(arns) for action, arns in needs[logical].items()}
        if queue := _on_failure_queue(app, function):
            # Lambda sends failed async events there with the function's own role.
            assert queue.split(":")[-1].startswith(f"{stack}-"), queue
            expected["sqs:SendMessage"] = {queue}
        assert set(grants) == set(expected), (
            f"{role_name}: extra {sorted(set(grants) - set(expected))}, "
            f"missing {sorted(set(expected) - set(grants))}"
        )
        for action, resources in grants.items():
            assert resources <= expected[action], (role_name, action, resources - expected[action])
    assert used_roles == set(roles), f"roles no function uses: {set(roles) - used_roles}"


# --- no secrets in what we write ---------------------------------------------------------------

_PATTERNS = re.compile(
    r"aws_secret_access_key|AWS_SECRET_ACCESS_KEY\s*=|AWS_SESSION_TOKEN\s*=|"
    r"LOCALSTACK_AUTH_TOKEN|LOCALSTACK_API_KEY\s*=",
    re.IGNORECASE,
)


def _handed_out_secrets(app: App) -> set[str]:
    """The secret keys and session tokens the sandbox gives its functions.

    Read from the function processes' environments (embedded sandbox), plus a fresh
    AssumeRole of each function role, made the way LocalStack does for an invocation.
    """
    secrets: set[str] = set()
    if app.sandbox.kind == "embedded":
        for pid in app.sandbox.embedded.pids():
            try:
                environ = psutil.Process(pid).environ()
            except psutil.Error:
                continue
            for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                if len(environ.get(name, "")) >= 16:
                    secrets.add(environ[name])
    sts, lam = app.sandbox.client("sts"), app.sandbox.client("lambda")
    for function in app.outputs["functions"].values():
        role = lam.get_function_configuration(FunctionName=function)["Role"]
        creds = sts.assume_role(RoleArn=role, RoleSessionName=function)["Credentials"]
        secrets |= {creds["SecretAccessKey"], creds["SessionToken"]}
    return {s for s in secrets if s not in ("test", "testing")}


def _log_texts(app: App) -> dict[str, str]:
    """Everything the functions logged to CloudWatch, and the sandbox's log files."""
    texts: dict[str, str] = {}
    logs = app.sandbox.client("logs")
    for function in app.outputs["functions"].values():
        group = f"/aws/lambda/{function}"
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        texts[group] = "\n".join(e["message"] for page in pages for e in page["events"])
    if app.sandbox.kind == "embedded":
        folder = Path(app.sandbox.embedded.dir) / "logs"
        for path in folder.rglob("*"):
            if path.is_file():
                texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return texts


def test_no_credentials_in_outputs_or_logs(app: App) -> None:
    # Make sure every function has run (and so logged) at least once in this sandbox.
    flight_date, email = unique_date(), unique_email("secrets")
    app.seed_flight("FCO", flight_date, 1)
    assert app.book("FCO", flight_date, 1, email).status == 200
    wait_for(lambda: app.receipts(email), timeout=30, what="a receipt")
    secrets = _handed_out_secrets(app)
    if app.sandbox.kind == "embedded":
        assert secrets, "found no credentials handed to the functions: the test would be blind"

    texts = {"outputs": json.dumps(app.outputs)} | _log_texts(app)
    assert any("START RequestId" in text for text in texts.values()), "no function logs read"
    leaks = []
    for where, text in texts.items():
        if match := _PATTERNS.search(text):
            leaks.append((where, match.group()))
        leaks += [(where, f"{s[:4]}...") for s in secrets if s in text]
    assert not leaks, leaks
