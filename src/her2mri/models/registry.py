"""Classifier registry: name → factory and a small tuning grid. All models give ``predict_proba``.

=======  ===============================================  ============================================  ======
name     estimator                                        grid (``model__`` prefix added by pipeline)   points
=======  ===============================================  ============================================  ======
lr       LogisticRegression (L2, lbfgs)                   C ∈ {0.01, 0.1, 1, 10}                        4
dt       DecisionTreeClassifier                           max_depth ∈ {2, 3, 5}, min_samples_leaf {5,20}  6
svm      CalibratedClassifierCV(SVC(kernel="rbf"),        estimator__C ∈ {0.1, 1, 10}                   3
         sigmoid, cv=5, ensemble=False) (Platt)
knn      KNeighborsClassifier                             n_neighbors ∈ {5, 15, 31}, weights {uniform,   6
                                                          distance}
mlp      MLPClassifier(hidden (16,), Adam, lr 0.01)       alpha ∈ {0.1, 1, 10}                          3
rf       RandomForestClassifier(n_estimators=200)         max_depth ∈ {6, None}, min_samples_leaf 5      2
gbdt     GradientBoostingClassifier(n_estimators=100)     learning_rate ∈ {0.05, 0.1}, max_depth 2       2
=======  ===============================================  ============================================  ======

The ensembles are the costliest fits, so their grids keep one axis each (tree depth for the forest, shrinkage
for boosting, whose shallow depth-2 trees are the usual choice on small tabular cohorts); every model is still
tuned by inner cross-validation.

``auto`` is not a model: :func:`her2mri.models.pipeline.model_grid` turns it into a grid over every model, so the
inner cross-validation AUC alone picks the family and its hyper-parameters. The papers' "ANN" is ``mlp``.
Every estimator takes ``random_state`` where it has one (SVC's Platt scaling included), so fits are repeatable.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from her2mri.exceptions import ConfigError

# Wide blocks train the MLP full-batch by asking for a batch larger than any cohort (models.pipeline.WIDE_GRIDS);
# scikit-learn clips it to the rows, which is the intent, and would say so on every fit.
warnings.filterwarnings("ignore", message="Got `batch_size` less than 1 or larger than sample size",
                        category=UserWarning)

__all__ = ["CLASS_WEIGHT_PARAMETER", "MODELS", "ModelSpec", "apply_class_weight", "make_model"]


@dataclass(frozen=True)
class ModelSpec:
    """A classifier family: ``factory(random_state)`` returns an unfitted estimator; ``grid`` its tuning grid."""

    name: str
    title: str
    family: str
    factory: Callable[[int | None], ClassifierMixin]
    grid: dict[str, list[Any]] = field(default_factory=dict)
    is_linear: bool = False
    is_tree: bool = False

    def make(self, random_state: int | None = None) -> ClassifierMixin:
        return self.factory(random_state)


def _lr(rs: int | None) -> ClassifierMixin:
    return LogisticRegression(C=1.0, max_iter=5000, random_state=rs)


def _dt(rs: int | None) -> ClassifierMixin:
    return DecisionTreeClassifier(max_depth=3, min_samples_leaf=5, random_state=rs)


def _svm(rs: int | None) -> ClassifierMixin:
    # Platt scaling on 5 deterministic internal folds (sklearn 1.9 deprecates SVC(probability=True))
    svc = SVC(kernel="rbf", C=1.0, gamma="scale", random_state=rs)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False)


def _knn(rs: int | None) -> ClassifierMixin:
    return KNeighborsClassifier(n_neighbors=15)


def _mlp(rs: int | None) -> ClassifierMixin:
    # Adam stops when the training loss stalls for 10 epochs; a held-out early-stopping split underfits small cohorts
    return MLPClassifier(
        hidden_layer_sizes=(16,), solver="adam", alpha=1.0, learning_rate_init=0.01, max_iter=1000, random_state=rs
    )


def _rf(rs: int | None) -> ClassifierMixin:
    return RandomForestClassifier(n_estimators=200, min_samples_leaf=1, n_jobs=1, random_state=rs)


def _gbdt(rs: int | None) -> ClassifierMixin:
    return GradientBoostingClassifier(n_estimators=100, max_depth=2, learning_rate=0.1, random_state=rs)


MODELS: dict[str, ModelSpec] = {
    "lr": ModelSpec("lr", "Logistic regression", "linear", _lr, {"C": [0.01, 0.1, 1.0, 10.0]}, is_linear=True),
    "dt": ModelSpec(
        "dt", "Decision tree", "tree", _dt, {"max_depth": [2, 3, 5], "min_samples_leaf": [5, 20]}, is_tree=True
    ),
    "svm": ModelSpec("svm", "Support vector machine (RBF)", "kernel", _svm, {"estimator__C": [0.1, 1.0, 10.0]}),
    "knn": ModelSpec(
        "knn", "k-nearest neighbours", "instance", _knn,
        {"n_neighbors": [5, 15, 31], "weights": ["uniform", "distance"]},
    ),
    "mlp": ModelSpec("mlp", "Artificial neural network (MLP)", "neural", _mlp, {"alpha": [0.1, 1.0, 10.0]}),
    "rf": ModelSpec(
        "rf", "Random forest", "ensemble", _rf, {"max_depth": [6, None], "min_samples_leaf": [5]}, is_tree=True
    ),
    "gbdt": ModelSpec(
        "gbdt", "Gradient-boosted decision trees", "ensemble", _gbdt,
        {"learning_rate": [0.05, 0.1], "max_depth": [2]}, is_tree=True,
    ),
}


def make_model(name: str, random_state: int | None = None) -> ClassifierMixin:
    """Instantiate a registered classifier by name."""
    if name not in MODELS:
        msg = f"Unknown model {name!r}; accepted: {', '.join(MODELS)} (or 'auto' in build_pipeline)."
        raise ConfigError(msg)
    return MODELS[name].make(random_state)


#: the classifier parameter that carries class weights (``None``: the classifier takes none)
CLASS_WEIGHT_PARAMETER: dict[str, str | None] = {
    "lr": "class_weight", "dt": "class_weight", "svm": "estimator__class_weight", "rf": "class_weight",
    "knn": None, "mlp": None, "gbdt": None,
}


def apply_class_weight(pipeline: Any, classifier: str, class_weight: str | None) -> Any:
    """Set ``class_weight`` on the pipeline's ``model`` step (``"balanced"``: weights n / (2 · n_class)).

    The weights are computed by the classifier from the labels it is fitted on, so inside every training fold from
    that fold's labels only. Balanced weights move the predicted probabilities towards 0.5 for the minority class:
    the ranking (AUC) barely changes but calibration-in-the-large does (see docs/models.md).
    """
    if class_weight is None:
        return pipeline
    parameter = CLASS_WEIGHT_PARAMETER.get(classifier)
    if parameter is None:
        accepted = sorted(k for k, v in CLASS_WEIGHT_PARAMETER.items() if v)
        message = (f"class_weight: classifier '{classifier}' takes no class weights; got class_weight "
                   f"{class_weight!r}; accepted with: {', '.join(accepted)}.")
        raise ConfigError(message)
    return pipeline.set_params(**{f"model__{parameter}": class_weight})
