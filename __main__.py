"""The Pulumi program: read this stack's config, build its components."""

from components.stack import build_stack, read_settings

build_stack(read_settings())
