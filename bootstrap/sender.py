"""The sender on AWS: refuse an address no mail can come from, and say where SES stands.

On an endpoint (LocalStack) any sender works and nothing is mailed, so none of this applies.
On AWS the sender is an SES identity that must be verified (a link mailed to the address,
or DNS records for a domain), and an account starts in the SES sandbox, where mail goes to
verified addresses only. ``bookings@skybook.local``, the sandbox's default, can never be
verified: :func:`check_sender` refuses it before anything is created.
"""

from __future__ import annotations

from bootstrap.errors import DeployError
from bootstrap.settings import Settings
from bootstrap.target import Target

RESERVED_SUFFIXES = (
    # RFC 2606 and RFC 6761: reserved for tests, documentation and loopback
    "test",
    "example",
    "invalid",
    "localhost",
    "example.com",
    "example.net",
    "example.org",
    "local",  # RFC 6762, multicast DNS: the link only
    "onion",  # RFC 7686
    "home.arpa",  # RFC 8375, home networks
    "internal",  # ICANN, 2024: private use, never delegated
    # never delegated (ICANN name-collision list) or conventional on private networks
    "localdomain",
    "lan",
    "home",
    "corp",
    "intranet",
)
SANDBOX_QUOTA = 200.0
"""Max24HourSend of an account in the SES sandbox. GetSendQuota is the SES v1 call the
deployer's other SES calls belong to (one IAM action, answered by moto and LocalStack too);
SES v2's GetAccount says it outright (ProductionAccessEnabled) but needs SES v2 and another
permission. Production access starts at 50,000 a day, so 200 means the sandbox."""


def unroutable(identity: str) -> str | None:
    """The reserved or unroutable domain of an address or domain (None: a real one)."""
    domain = identity.rpartition("@")[2].strip(".").lower()
    if "." not in domain:
        return domain or identity
    for suffix in RESERVED_SUFFIXES:
        if domain == suffix or domain.endswith("." + suffix):
            return suffix
    return None


def check_sender(settings: Settings, target: Target) -> None:
    """On AWS, refuse a sender SES could never verify (before anything is created)."""
    if target.is_local:
        return
    reserved = unroutable(settings.identity)
    if reserved is None:
        return
    shown = reserved if "." in reserved else "." + reserved
    raise DeployError(
        f"sender {settings.sender_email} is on a reserved domain ({shown}) no mail comes from, "
        "so SES on AWS could never verify it: pass "
        "--sender-email you@your-domain (SES mails it a link to click) or --sender-domain "
        "your-domain (verified by DNS records); see docs/aws.md, 'SES'"
    )


def ses_status(target: Target, identity: str) -> list[str]:
    """Whether the identity is verified, and whether the account is in the SES sandbox (AWS
    only: an endpoint verifies everything and mails nobody)."""
    if target.is_local:
        return []
    ses = target.client("ses")
    found = (
        ses.get_identity_verification_attributes(Identities=[identity])
        .get("VerificationAttributes", {})
        .get(identity)
    )
    is_address = "@" in identity
    if found is None:
        how = "mails it a verification link" if is_address else "gives the DNS records to publish"
        lines = [f"SES identity {identity} does not exist yet: apply creates it, and SES {how}"]
    elif found.get("VerificationStatus") == "Success":
        lines = [f"SES identity {identity} is verified"]
    else:
        if is_address:
            how = f"open the link SES mailed to {identity}"
        else:
            how = (
                f"add the DNS TXT record _amazonses.{identity} = "
                f"{found.get('VerificationToken', '<token>')}"
            )
        lines = [
            f"SES identity {identity} is not verified yet "
            f"({found.get('VerificationStatus', 'Pending')}): {how}; nothing is sent until then"
        ]
    quota = float(ses.get_send_quota().get("Max24HourSend", 0))
    if quota == SANDBOX_QUOTA:
        lines.append(
            f"the account is in the SES sandbox in {target.region} (200 mails a day): receipts "
            "reach verified addresses only; docs/aws.md says how to leave it"
        )
    else:
        lines.append(
            f"the account has SES production access in {target.region} ({quota:g} mails a day)"
        )
    return lines
