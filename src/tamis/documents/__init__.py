"""Trade documents: registered in a transparency log, witnessed by partners, verifiable offline."""
