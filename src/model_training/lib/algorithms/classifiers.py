"""Classification algorithms: factories and their registry entries."""

from __future__ import annotations

from model_training.lib.algorithms.algorithm import (
    BOOSTED_TREES,
    CLASSIFIER,
    LIGHTGBM_FIXED,
    Algorithm,
    catboost_params,
    hidden_layers,
)
from model_training.lib.core.threads import fit_threads


def _logistic(params, seed, class_weight):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        max_iter=5000, random_state=seed, class_weight=class_weight, **params
    )


def _random_forest_clf(params, seed, class_weight):
    from model_training.lib.algorithms.forests import (
        ThreadedRandomForestClassifier,
    )

    return ThreadedRandomForestClassifier(
        random_state=seed, class_weight=class_weight, **params
    )


def balanced_random_forest(params, seed, _class_weight):
    from model_training.lib.algorithms.forests import (
        ThreadedBalancedRandomForestClassifier,
    )

    return ThreadedBalancedRandomForestClassifier(random_state=seed, **params)


def _catboost_clf(params, seed, class_weight):
    from model_training.lib.algorithms.catboost_frames import (
        CatBoostCategoricalClassifier,
    )

    extra = {"auto_class_weights": "Balanced"} if class_weight == "balanced" else {}
    return CatBoostCategoricalClassifier(
        random_seed=seed,
        verbose=False,
        allow_writing_files=False,
        thread_count=fit_threads(),
        **extra,
        **catboost_params(params),
    )


def _hgb_clf(params, seed, class_weight):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        random_state=seed, class_weight=class_weight, **params
    )


def _lgbm_clf(params, seed, class_weight):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        random_state=seed, class_weight=class_weight, **LIGHTGBM_FIXED, **params
    )


def _svm_clf(params, seed, class_weight):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # Platt-scaled probabilities from 3-fold cross-fitting; scikit-learn 1.9
    # deprecates SVC(probability=True) in favour of this.
    svc = SVC(kernel="rbf", random_state=seed, class_weight=class_weight, **params)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)


def _mlp_clf(params, seed, _class_weight):
    from sklearn.neural_network import MLPClassifier

    params = dict(params)
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = hidden_layers(params["hidden_layer_sizes"])
    return MLPClassifier(random_state=seed, **params)


CLASSIFIERS: tuple[Algorithm, ...] = (
    Algorithm(
        "logistic_regression",
        CLASSIFIER,
        _logistic,
        "L2 logistic regression",
        interpretability=5,
        cost=1,
    ),
    Algorithm(
        "random_forest",
        CLASSIFIER,
        _random_forest_clf,
        "random forest",
        scaled=False,
        interpretability=2,
        extra_imbalance=("balanced_rf",),
        row_guard=100_000,
        cost=3,
        trees_param="n_estimators",
    ),
    Algorithm(
        "catboost",
        CLASSIFIER,
        _catboost_clf,
        "CatBoost gradient boosting, native categoricals",
        scaled=False,
        native_categorical=True,
        interpretability=2,
        iterations_param="iterations",
        family=BOOSTED_TREES,
    ),
    Algorithm(
        "hist_gradient_boosting",
        CLASSIFIER,
        _hgb_clf,
        "histogram gradient boosting",
        scaled=False,
        interpretability=2,
        iterations_param="max_iter",
        family=BOOSTED_TREES,
    ),
    Algorithm(
        "lightgbm",
        CLASSIFIER,
        _lgbm_clf,
        "LightGBM gradient boosting (leaf-wise trees; fast on large data)",
        scaled=False,
        interpretability=2,
        iterations_param="n_estimators",
        family=BOOSTED_TREES,
        cost=1,
    ),
    Algorithm(
        "svm_rbf",
        CLASSIFIER,
        _svm_clf,
        "support vector machine, RBF kernel, Platt probabilities",
        row_guard=5000,
        interpretability=1,
        cost=4,
    ),
    Algorithm(
        "mlp",
        CLASSIFIER,
        _mlp_clf,
        "multi-layer perceptron",
        class_weight=False,
        row_guard=50000,
        interpretability=1,
        cost=4,
    ),
)
