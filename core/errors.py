"""Errors the UI shows to the user as they are."""


class InputError(ValueError):
    """Bad user input; the message says what is wrong and what would work."""
