"""Trains a decision tree classifier."""

from sklearn.tree import DecisionTreeClassifier


def train(split, max_depth=3, seed=42):
    model = DecisionTreeClassifier(max_depth=int(max_depth), random_state=int(seed))
    model.fit(split["x_train"], split["y_train"])
    return model
