"""Transit: goods moving under customs control, from departure to destination."""
