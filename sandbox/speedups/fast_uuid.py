"""``uuid.uuid4`` in LocalStack's process draws its bits from a seeded PRNG, not the kernel.

Every request LocalStack handles takes several random UUIDs (request ids, event ids, log
stream names, message ids, trace ids). ``uuid.uuid4`` reads 16 bytes with ``os.urandom``, a
system call during which the thread gives up the GIL: under load each one is a chance for a
thread switch, and UUIDs took about 4% of LocalStack's CPU (perf, docs/performance.md). This
module replaces ``uuid.uuid4`` with one built from ``random.Random.getrandbits`` (a Mersenne
Twister seeded from ``os.urandom`` once): the same version-4 UUIDs, equally unique for ids,
but predictable to someone who saw enough of them, which nothing in a local sandbox relies on
(credentials are not made with it). Code that imported the function itself
(``from uuid import uuid4``) before LocalStack started keeps the original.

Installed once at LocalStack's start by :mod:`sandbox.speedups.hooks`.
"""

from __future__ import annotations

import functools
import os
import random
import uuid

_RANDOM = random.Random()


def uuid4() -> uuid.UUID:
    return uuid.UUID(int=_RANDOM.getrandbits(128), version=4)


@functools.cache  # once per process: installing twice would wrap twice
def install() -> None:
    uuid.uuid4 = uuid4
    os.register_at_fork(after_in_child=_RANDOM.seed)  # a forked child must not repeat its ids
