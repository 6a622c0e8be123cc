def double(xs):
    return [2 * x for x in xs]
