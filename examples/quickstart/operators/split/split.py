"""Splits the data into a training and a test set, stratified by class."""

from sklearn.model_selection import train_test_split


# test_size and seed are run parameters: the workflow's defaults, or the
# invocation's overrides.
def split(data, test_size=0.3, seed=42):
    x_train, x_test, y_train, y_test = train_test_split(
        data["features"],
        data["labels"],
        test_size=float(test_size),
        random_state=int(seed),
        stratify=data["labels"],
    )
    return {
        "x_train": x_train,
        "y_train": y_train,
        "x_test": x_test,
        "y_test": y_test,
        "target_names": data["target_names"],
    }
