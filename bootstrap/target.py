"""Where the stack goes: an endpoint (LocalStack, embedded or in Docker) or real AWS.

Only the way clients are built differs; every API call afterwards is plain AWS, so the
same deployer code runs against both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from bootstrap.errors import DeployError

DEFAULT_REGION = "us-east-1"
LOCAL_CREDENTIALS = ("test", "test")


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
    def local(cls, endpoint: str = "http://127.0.0.1:4566", region: str = DEFAULT_REGION) -> Target:
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

    def _new_session(self) -> boto3.Session:
        if self.profile:
            try:
                return boto3.Session(profile_name=self.profile, region_name=self.region)
            except botocore.exceptions.ProfileNotFound:
                raise DeployError(
                    f"AWS profile {self.profile!r} not found: configure it with "
                    f"'aws configure --profile {self.profile}'"
                ) from None
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
        return f"cannot reach AWS in {self.region}: check the network and the region name"

    def api_url(self, api_id: str, stage: str) -> str:
        """The base URL of a deployed REST API stage on this target."""
        if self.endpoint:
            return f"{self.endpoint.rstrip('/')}/_aws/execute-api/{api_id}/{stage}"
        return f"https://{api_id}.execute-api.{self.region}.amazonaws.com/{stage}"
