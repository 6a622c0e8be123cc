"""Scores both models on the test set and picks the best."""

from sklearn.metrics import accuracy_score


def evaluate(split, knn, tree):
    scores = {}
    for name, model in (("knn", knn), ("decision_tree", tree)):
        predicted = model.predict(split["x_test"])
        scores[name] = round(float(accuracy_score(split["y_test"], predicted)), 4)
        print(f"{name}: accuracy {scores[name]:.4f} on {len(split['y_test'])} test samples")
    # Ties go to the first, the simpler model to serve.
    best = max(scores, key=lambda name: scores[name])
    return {
        "best_model": best,
        "accuracy": scores[best],
        "scores": scores,
        "test_samples": len(split["y_test"]),
    }
