"""Refusals said by code: an error a person can cause (a value typed, a step taken out of
turn) carries a code and its figures beside its English words. The API and the logs keep
the English message; a page says the code's words in its reader's language with the same
figures, as a stored reason keeps its code and figures (``tamis.reasons``)."""

from __future__ import annotations


class Refusal(ValueError):
    """A refused value or step: ``str()`` is its English words; ``code`` and ``values`` say
    it in other words, ``field`` names the field it is about (None: the whole request).
    Without a code it is said in its English words everywhere."""

    def __init__(
        self, message: str, code: str | None = None, field: str | None = None, **values
    ) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.values = values
