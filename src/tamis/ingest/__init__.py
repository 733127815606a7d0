"""Source files in, canonical records out; what is invalid is quarantined with its reason."""

from tamis.ingest.pipeline import Summary, ingest
from tamis.ingest.profiles import Profile, ProfileError, load_profile
from tamis.ingest.quarantine import quarantined
from tamis.ingest.readers import SourceError

__all__ = [
    "Profile",
    "ProfileError",
    "SourceError",
    "Summary",
    "ingest",
    "load_profile",
    "quarantined",
]
