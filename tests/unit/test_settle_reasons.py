"""A reason read by people: a Ray task's failure names the remote exception and the method, no colours."""

from __future__ import annotations

import nats.errors
from ray.exceptions import RayTaskError

from swarm.errors import Settlement, StateError, TransientError
from swarm.runtime.settle import as_swarm_error, described, unwrapped

TRACEBACK = "\x1b[36mray::OrchestratorActor.investigate()\x1b[39m (pid=1, ip=10.0.0.1)\nTraceback ...\n  File x"


def test_a_library_error_inside_a_ray_task_reads_as_itself_and_the_method() -> None:
    task = RayTaskError("OrchestratorActor.investigate", TRACEBACK, nats.errors.MaxPayloadError())
    error = as_swarm_error(task)
    assert isinstance(error, TransientError) and error.settlement == Settlement.RETRY
    assert str(error) == "MaxPayloadError: nats: maximum payload exceeded (in OrchestratorActor.investigate)"
    assert "\x1b" not in str(error) and "Traceback" not in str(error)


def test_a_swarm_error_inside_a_ray_task_keeps_its_settlement_and_its_own_words() -> None:
    dual = RayTaskError("OrchestratorActor.investigate", TRACEBACK, StateError("PEER state 'k' is too large")
                        ).as_instanceof_cause()
    assert isinstance(dual, StateError) and as_swarm_error(dual) is dual  # Ray's dual instance: still settled
    inner, where = unwrapped(dual)
    assert type(inner) is StateError and where == "OrchestratorActor.investigate"
    assert described(dual, typed=False) == "PEER state 'k' is too large (in OrchestratorActor.investigate)"


def test_an_error_outside_ray_reads_as_before() -> None:
    assert described(ValueError("bad page")) == "ValueError: bad page"
    assert described(TransientError("ValueError: bad page"), typed=False) == "ValueError: bad page"
