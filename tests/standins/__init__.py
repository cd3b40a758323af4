"""Local stand-ins for the SMS and email providers: they check what the real ones check."""
