def square(xs):
    return [x * x for x in xs]
