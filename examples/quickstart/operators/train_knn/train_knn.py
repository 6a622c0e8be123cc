"""Trains a k-nearest-neighbours classifier."""

from sklearn.neighbors import KNeighborsClassifier


def train(split, n_neighbors=5):
    model = KNeighborsClassifier(n_neighbors=int(n_neighbors))
    model.fit(split["x_train"], split["y_train"])
    # A model is not JSON: the runtime pickles it for the next operator.
    return model
