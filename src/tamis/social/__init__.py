"""Counterfeit intelligence from social-media posts, read from analysts' exports (never
scraped): brands, prices, phones and places turned into leads on importers."""
