"""Cross-source intelligence: manifests, payments, trademarks, tax returns, entities, networks."""
