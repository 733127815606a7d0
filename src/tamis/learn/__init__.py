"""Learning from inspection outcomes: features, models, registry, metrics, drift."""
