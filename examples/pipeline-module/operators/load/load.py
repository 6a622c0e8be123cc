def load(n=4):
    """The numbers 1 to n; n is a run parameter."""
    return list(range(1, n + 1))
