"""Business operations: each takes a session and plain arguments and owns its commit."""
