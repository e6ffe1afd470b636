"""Where the stack goes: an endpoint (LocalStack, embedded or in Docker) or real AWS.

Only the way clients are built differs; every API call afterwards is plain AWS, so the
same deployer code runs against both. :func:`resolve_target` is the one way the command
lines (bootstrap's and skybook's) turn their options into a target.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from bootstrap.errors import DeployError

DEFAULT_REGION = "us-east-1"  # an endpoint's, when nothing else names one
LOCAL_CREDENTIALS = ("test", "test")
LOCAL_ENDPOINT = "http://127.0.0.1:4566"
ENDPOINT_ENV = "SKYBOOK_ENDPOINT"
"""The one variable that points the CLIs, the tests and bootstrap at a LocalStack endpoint.
``AWS_ENDPOINT_URL`` is not read for that: botocore itself honours it, for every client."""


@dataclass
class Target:
    """An endpoint URL (with test credentials unless a profile is given) or an AWS profile."""

    endpoint: str | None = None
    profile: str | None = None
    region: str = DEFAULT_REGION
    session: Any = field(default=None, repr=False)  # boto3.Session; tests may inject one
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _account: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.session is None:
            self.session = self._new_session()

    @classmethod
    def local(cls, endpoint: str = LOCAL_ENDPOINT, region: str = DEFAULT_REGION) -> Target:
        return cls(endpoint=endpoint, region=region)

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None

    def describe(self) -> str:
        if self.endpoint:
            return self.endpoint
        return (
            f"AWS ({'profile ' + self.profile if self.profile else 'default credentials'}, "
            f"{self.region})"
        )

    def banner(self) -> str:
        """Where changes would land, account included (one STS call): what plan, apply and
        destroy print first."""
        if self.endpoint:
            return f"Target: {self.endpoint}, account {self.account}, region {self.region}"
        credentials = f"profile {self.profile}" if self.profile else "default credentials"
        return f"Target: AWS account {self.account}, region {self.region} ({credentials})"

    def redirected_to(self) -> str | None:
        """On AWS, an endpoint botocore was told to use instead (``AWS_ENDPOINT_URL``): then
        the calls go there, not to AWS, and the user should know."""
        if self.endpoint:
            return None
        return os.environ.get("AWS_ENDPOINT_URL") or next(
            (v for k, v in sorted(os.environ.items()) if k.startswith("AWS_ENDPOINT_URL_")), None
        )

    def _new_session(self) -> boto3.Session:
        if self.profile:
            return _session(self.profile, region=self.region)
        if self.endpoint:
            key, secret = LOCAL_CREDENTIALS
            return boto3.Session(
                aws_access_key_id=key, aws_secret_access_key=secret, region_name=self.region
            )
        return boto3.Session(region_name=self.region)

    def client(self, service: str) -> Any:
        """A cached client; against an endpoint, fail fast instead of retrying for minutes."""
        if service not in self._clients:
            if self.endpoint:
                config = botocore.config.Config(
                    connect_timeout=3,
                    read_timeout=60,
                    retries={"mode": "standard", "max_attempts": 3},
                )
            else:
                config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 8})
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint, region_name=self.region, config=config
            )
        return self._clients[service]

    @property
    def account(self) -> str:
        """The account id (one STS call, also the reachability and credentials check)."""
        if self._account is None:
            try:
                self._account = str(self.client("sts").get_caller_identity()["Account"])
            except botocore.exceptions.EndpointConnectionError:
                raise DeployError(self.unreachable_message()) from None
            except (
                botocore.exceptions.NoCredentialsError,
                botocore.exceptions.PartialCredentialsError,
            ):
                raise DeployError(
                    "no AWS credentials found: pass --profile P (see 'aws configure') or "
                    "--endpoint URL for LocalStack"
                ) from None
            except botocore.exceptions.ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                raise DeployError(
                    f"{self.describe()} refused the credentials ({code}): check the profile or "
                    "refresh the session (e.g. 'aws sso login')"
                ) from None
        return self._account

    def unreachable_message(self) -> str:
        if self.endpoint:
            return (
                f"cannot reach {self.endpoint}: is the sandbox running? start it with ./scripts/up"
            )
        if redirected := self.redirected_to():
            return f"cannot reach {redirected} (AWS_ENDPOINT_URL): unset it to reach AWS"
        return f"cannot reach AWS in {self.region}: check the network and the region name"

    def api_url(self, api_id: str, stage: str) -> str:
        """The base URL of a deployed REST API stage on this target."""
        if self.endpoint:
            return f"{self.endpoint.rstrip('/')}/_aws/execute-api/{api_id}/{stage}"
        return f"https://{api_id}.execute-api.{self.region}.amazonaws.com/{stage}"


def _profile_missing(name: str | None) -> DeployError:
    where = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    shown = name or os.environ.get("AWS_PROFILE") or "default"
    return DeployError(
        f"AWS profile {shown!r} not found in {where}: configure it with "
        f"'aws configure --profile {shown}' (or 'aws configure sso')"
    )


def _session(profile: str | None, region: str | None = None) -> boto3.Session:
    """A session as the AWS CLI would make it: ``profile``, else ``$AWS_PROFILE``, else the
    default credential chain (environment, config and credentials files, SSO, roles)."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        session.region_name  # noqa: B018 - reads the profile: a missing one fails here
    except botocore.exceptions.ProfileNotFound:
        raise _profile_missing(profile) from None
    return session


def resolve_target(
    *,
    endpoint: str | None = None,
    aws: bool = False,
    profile: str | None = None,
    region: str | None = None,
) -> Target:
    """The target the options name, resolved the way the AWS CLI resolves credentials and
    region.

    - ``aws``, or a ``profile`` without an ``endpoint``: real AWS. Credentials: the profile,
      else ``$AWS_PROFILE``, else the default chain. Region: ``region``, else
      ``$AWS_REGION``, else ``$AWS_DEFAULT_REGION``, else the profile's ``region`` in
      ``~/.aws/config`` (``$AWS_CONFIG_FILE``); none of them is an error, never a guess.
      ``$SKYBOOK_ENDPOINT`` is ignored. (botocore reads all of these but ``$AWS_REGION``,
      which the AWS CLI v2 and the SDKs put first.)
    - otherwise an endpoint: ``endpoint``, else ``$SKYBOOK_ENDPOINT``, else
      ``http://127.0.0.1:4566``, with test credentials (a ``profile``'s if given) and region
      ``region``, else ``$AWS_REGION``, else ``$AWS_DEFAULT_REGION``, else us-east-1 (the
      sandbox's).
    """
    env = os.environ
    if aws and endpoint:
        raise DeployError("--aws and --endpoint exclude each other: pick one target")
    if aws or (profile and not endpoint):
        session = _session(profile)
        try:
            resolved = region or env.get("AWS_REGION") or session.region_name
        except botocore.exceptions.ProfileNotFound:
            raise _profile_missing(profile) from None
        if not resolved:
            option = f" --profile {profile}" if profile else ""
            raise DeployError(
                "no AWS region: pass --region R, set AWS_REGION, or give the profile one "
                f"('aws configure set region eu-west-1{option}')"
            )
        session = _session(profile, region=resolved)
        named = profile or (session.profile_name if env.get("AWS_PROFILE") else None)
        return Target(profile=named, region=resolved, session=session)
    url = (endpoint or env.get(ENDPOINT_ENV) or LOCAL_ENDPOINT).rstrip("/")
    resolved = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    return Target(endpoint=url, profile=profile, region=resolved)
