"""Learning from inspection outcomes: features, models, registry, drift, uplift."""

import os

# OpenMP threads (LightGBM's, scikit-learn's) spin while they wait by default. On a shared
# machine with more busy threads than cores that spinning more than halves LightGBM's
# training speed; waiting passively costs little when the cores are free. OpenMP reads
# this when it loads, so it is set here, before any learning module imports LightGBM.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
