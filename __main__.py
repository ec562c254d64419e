"""The Pulumi program: read this stack's config, build its components."""
