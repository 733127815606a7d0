"""The targeting centre's work: cases, inspection results, watchlists, post-clearance
audit and mutual assistance."""
