"""`remote_class(cls)`: the Ray actor class of `cls`, made once per process.

Ray exports an actor class (pickled, disassembled for its duplicate-export check, written to the GCS)
once per `ray.remote(cls)` object and job. A fresh `ray.remote(cls)` for every replica, intake actor or
restart exported the class again each time, on the driver's event loop; one object per class exports it
once per job.

    remote_class(RoleActor).options(name="research-0").remote(spec, "research", 0)
"""

from __future__ import annotations

import functools
from typing import Any

import ray

__all__ = ["remote_class"]


@functools.cache
def remote_class(cls: type) -> Any:
    return ray.remote(cls)
