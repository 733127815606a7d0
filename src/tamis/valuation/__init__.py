"""Value control: a reference-price database and under- and over-valuation detection.

- ``reference``: columnar statistics (histogram of log unit values, robust references per
  HS code and origin with fallback levels, matching, skew-aware scoring);
- ``tariff``: duty and tax rates for the revenue at stake;
- ``database``: the references in the store (incremental build, analyst references,
  audit log of uses); ``report`` and ``chart``: what people see;
- ``cli`` (``tamis valuation``) and ``api`` (``GET /valuation/reference``).

The detector is ``tamis.detectors.valuation.ValuationDetector``. The database is a risk
tool only (WTO Valuation Agreement): it never sets a minimum or substitute value.
"""
