def combine(doubled, squared):
    """Takes its inputs in the order of its inputs list: double, then square."""
    return {"doubled": sum(doubled), "squared": sum(squared), "total": sum(doubled) + sum(squared)}
