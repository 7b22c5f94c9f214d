"""The project's own errors. Entry points map these to a clear answer (CLI line, HTTP status, SMTP code)."""


class Chat2OrderError(Exception):
    """Base of every error chat2order raises on purpose."""


class NotFound(Chat2OrderError):
    pass


class InvalidInput(Chat2OrderError):
    pass


class ParseError(Chat2OrderError):
    """The parser refused its input (e.g. too long); never raised for merely odd text."""
