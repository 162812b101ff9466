"""From a fix branch to a merged fix: the approval gate, the push, the pull request.

- `approval`: the gate (`auto`, `approve_push`, `approve_pr` per repository); a fix waits in PEER state
  AWAITING_APPROVAL until `swarm approve ID` / `swarm reject ID --reason` (or `{ns}.svc.approve` /
  `{ns}.svc.reject` over NATS); a timeout rejects; every decision is audited.
- `providers`: GitHub pull requests and GitLab merge requests over REST (httpx), token from the environment.
- `deliver`: the order of gate, push and pull request for one fixed investigation (run by the orchestrator
  before the Result is published; the Result gains `pr_url` and `approval`).
"""
