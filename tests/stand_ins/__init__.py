"""Stand-in `pulumi-resource-aws` and `pulumi-resource-kubernetes` plugins for end-to-end tests (see plugin.py)."""
