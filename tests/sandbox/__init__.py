"""The sandbox behind scripts/sandbox.sh: a long-lived incident.io emulator seeded with today's org, both stacks
deployed on it with a local state backend, and an environment to source so that ./scripts/pulumi.sh, contrib/*.sh
and route-test --live talk to it; `dashboard` acts on it the way a person in incident.io's dashboard does."""
