"""Surface path -> probe pose path -> time law (pure algorithms)."""
