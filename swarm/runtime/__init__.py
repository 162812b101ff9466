"""The swarm on Ray: intake, the PEER cycle, role pools, autoscaling, healing.

Where to look (one place each):

- a report is settled (ack, nak, term, dead-letter, reject): `settle.Settler.settle(stream, msg, exc)`,
  which reads the error tree of `swarm.errors` (each error's `settlement` and `retry_delay_s`).
  `intake.IntakeActor` fetches, validates, groups and filters, and only raises; a backlog is pulled in
  bulk by `swarm.bus.fetch.fetch`, a storm's `duplicate_grouped` events are gathered by `grouped`;
  a report that opens or resumes an investigation goes through `opening.InvestigationOpener` (filter,
  budget admission, the orchestrator call).
- a phase is run: `cycle.CYCLE` is the table (phase, role, what it reads, its typed output, the skip
  rule) and `cycle.another_cycle` the stop rule; `cycle.run_cycles(host, max_cycles)` runs it on a
  host: `orchestrator.PeerCycle` (Ray pools + PEER state) or `local.LocalCycle` (in-process).
  `roles.run_phase` is one agent call, recorded in PEER state; when its RUNNING record and status are
  written (a quick phase: once, DONE): `phasemark`. Actor calls made in one turn go as one call
  (a fan-out; the intake's budget calls): `coalesce.Coalesced`, `registry.PoolClient.spread`.
- a pool is sized: `autoscale.Autoscaler.decide` (desired = ceil(load / target_per_replica)),
  applied by `pools.RolePool.scale_to`; `app.SwarmRuntime` starts and stops everything.
- a dead actor is replaced: `app.SwarmRuntime.restart` (the bloodstream healer's ActorRestarter; idempotent,
  never while NATS is unreachable, never an actor that still answers).
- what is the swarm's own fault (requeued, never dead-lettered): `faults.is_swarm_fault`.
- an error comes back: `lifecycle.reopen_reason` (deploy marker, quiet period, new evidence), applied in
  `grouping.SignatureIndex.count`; a Result closes the entry (`SignatureIndex.close`).
- operator-submitted work: `tasks` (`{ns}.tasks.investigation`, taken by intake like a report).
- the running swarm is asked something: `control.ControlService` (nats micro on `{ns}.svc.*`).
- a fix is pushed / a pull request opened / an operator approves: `swarm.delivery`, called by
  `orchestrator.OrchestratorActor._publish_result`.
- heavy tool work (test runs, repros, bisect steps) becomes a Ray task: `tooltask.RayToolRunner`, installed
  for each phase by `roles.run_phase` behind the agents' `swarm.agent.run_tool`; the CPUs asked of Ray's
  autoscaler: `autoscale.Autoscaler.cpus_needed`, sent by `app.SwarmRuntime._request_resources`
  (`raycluster.request_cpus`).
- the swarm as a Ray job (`swarm submit`, `--stop`, `swarm jobs`): `jobs.SwarmJobs`.

    runtime = SwarmRuntime(settings, config)
    await runtime.start()
    counters = await runtime.until_empty()
    await runtime.stop()

Agents never import this package: their seam is `swarm.agent`.
"""
