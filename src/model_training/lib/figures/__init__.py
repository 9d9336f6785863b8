"""Every figure, drawn with matplotlib's object API."""
