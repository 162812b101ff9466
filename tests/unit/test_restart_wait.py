"""`pools.comes_back`: a restart waits while Ray restarts an actor, and gives up at once on a dead one."""

from __future__ import annotations

import asyncio

import ray.exceptions

from swarm.runtime.pools import comes_back


def _calls(*answers: object):
    """A fake actor call: each call takes the next answer (an exception is raised); counts the calls."""
    seen: list[int] = []

    def call():
        async def one() -> object:
            answer = answers[min(len(seen), len(answers) - 1)]
            seen.append(1)
            if answer == "hang":
                await asyncio.sleep(3600)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return one()

    return call, seen


async def test_an_actor_ray_is_restarting_is_asked_again_until_it_answers() -> None:
    restarting = ray.exceptions.ActorUnavailableError("The actor is temporarily unavailable", None)
    call, seen = _calls(restarting, restarting, restarting, "research-0")
    assert await comes_back(call, timeout_s=10.0) is True
    assert len(seen) == 4


async def test_a_dead_actor_is_given_up_at_once() -> None:
    call, seen = _calls(ray.exceptions.ActorDiedError(), "research-0")
    assert await comes_back(call, timeout_s=10.0) is False
    assert len(seen) == 1  # not asked again: Ray will not restart it


async def test_an_actor_that_stays_unavailable_or_silent_is_given_up_at_the_window() -> None:
    call, _ = _calls(ray.exceptions.ActorUnavailableError("gone quiet", None))
    assert await comes_back(call, timeout_s=0.5) is False
    call, seen = _calls("hang")
    assert await comes_back(call, timeout_s=0.3) is False and len(seen) == 1
