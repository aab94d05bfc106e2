"""The base layer: shared types, the configuration schema and the configuration sections
shared by several packages (the probe's), registries, arm kinematics and the backend
interfaces. Everything in the project may import it; it imports nothing of the project
above it (an import-linter contract in ``pyproject.toml`` enforces this)."""
