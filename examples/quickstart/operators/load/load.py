"""Loads the iris data set that scikit-learn ships (no download)."""

from sklearn.datasets import load_iris


def load():
    iris = load_iris()
    # Plain lists travel as JSON, readable in the run record.
    return {
        "features": iris.data.tolist(),
        "labels": iris.target.tolist(),
        "feature_names": list(iris.feature_names),
        "target_names": iris.target_names.tolist(),
    }
