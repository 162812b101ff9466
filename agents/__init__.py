"""What the agents do. The runtime loads the roles by dotted path (configs/swarm.yaml) and calls
`await AgentClass(options).handle(ctx)` with a swarm.agent.AgentContext.

    orchestrator.py  OrchestratorAgent: plan (hypotheses) and express (result + markdown summary)
    research.py      ResearchAgent: one hypothesis, read-only worktree -> findings and ranked suspects
    implement.py     ImplementAgent: fix on branch swarm/fix/<id>, tests before/after, GitPython commit, push
    review.py        ReviewAgent: tests on the fix branch, diff audit, verdict, Audit event
    workspace.py     per-investigation git worktrees, confined paths, commands with timeouts/capped output
    tools.py         typed tools with JSON schemas, per role
    forensics.py     traceback -> failing path -> suspect commits -> surgical reverts (the offline brain's core)
    brains/          offline (no model) and claude (anthropic SDK tool-use loop, falls back to offline)
    prompts/         system and per-step prompts for Claude
    testing/         regression generator, loopback Messages API, bench body (driver: swarm.runtime.local)

agents/ never imports nats or ray; swarm/ never imports agents/.
"""
