"""One module per ``appliance`` subcommand; each exposes ``register(subparsers)``."""
