#!/usr/bin/python3
"""
Offline training pipeline for the "pima-diabetes" model package.

Run with Debian's system interpreter (python3-sklearn 1.2, python3-xgboost 1.7, python3-onnx 1.12):

    /usr/bin/python3 models/pima-diabetes/train/train.py [--data PATH]

Reads the Pima Indians Diabetes data (default: the copy the project keeps in its shared data folder,
see --data), trains a small XGBoost classifier on five EHR-available features, evaluates it on a
stratified held-out part, converts the trees to an ONNX TreeEnsembleClassifier with onnx.helper,
checks the conversion with an independent tree walker, and writes the package files next to this
folder plus the TreeSHAP fixtures under test/fixtures/pima/. Deterministic: fixed seeds, one
thread, exact tree method.

The service never runs this file; it reads only the artefacts.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import sys
from itertools import combinations

import numpy as np
import onnx
import sklearn
import xgboost as xgb
from onnx import TensorProto, helper
from scipy.stats import rankdata
from sklearn.model_selection import StratifiedKFold, train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_DIR))
FIXTURE_DIR = os.path.join(REPO_ROOT, "test", "fixtures", "pima")
DEFAULT_DATA = os.path.join(os.path.dirname(REPO_ROOT), "shared", "data", "pima", "pima.csv")

SEED = 20240601
TEST_FRACTION = 0.25
BOOTSTRAP_RESAMPLES = 2000
CV_FOLDS = 5
GRID = [
    {"n_estimators": n, "max_depth": d, "learning_rate": lr}
    for n in (50, 75, 100)
    for d in (3, 4)
    for lr in (0.05, 0.1)
]

# Model columns, in ONNX input order, with the CSV column each one is read from.
FEATURES = [
    ("pregnancies", "pregnancies"),
    ("glucose_2h_ogtt", "glucose"),
    ("diastolic_bp", "diastolic_bp"),
    ("bmi", "bmi"),
    ("age", "age"),
]
FEATURE_IDS = [f for f, _ in FEATURES]

# Category cut-offs on the predicted probability (see README.md, "Categories", for the reasoning).
CATEGORY_CUTS = (0.15, 0.5)


# ----------------------------------------------------------------------------------------------
# Data


def load_pima(path):
    """Rows of the five model features (NaN where the CSV field is empty) and the 0/1 outcome."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        xs, ys = [], []
        for row in reader:
            xs.append([float(row[col]) if row[col] != "" else math.nan for _, col in FEATURES])
            ys.append(int(row["outcome"]))
    x = np.asarray(xs, dtype=np.float32)
    y = np.asarray(ys, dtype=np.int64)
    if x.shape != (768, 5) or int(y.sum()) != 268:
        sys.exit(f"unexpected data in {path}: shape {x.shape}, {int(y.sum())} positives (want 768 rows, 268)")
    return x, y


# ----------------------------------------------------------------------------------------------
# Training


def make_classifier(params):
    # base_score 0.5 (margin 0) is xgboost 1.7's default for binary:logistic; it is stated so the
    # ONNX base value does not depend on a library default. tree_method "exact" and one thread
    # make the trees reproducible run to run.
    return xgb.XGBClassifier(
        objective="binary:logistic",
        tree_method="exact",
        base_score=0.5,
        min_child_weight=1,
        subsample=1.0,
        colsample_bytree=1.0,
        n_jobs=1,
        random_state=SEED,
        eval_metric="logloss",
        **params,
    )


def choose_hyperparameters(x, y):
    """Grid search by stratified K-fold CV on the training part only; best mean AUROC wins,
    ties (to 3 decimals) go to the smaller model."""
    folds = list(StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=SEED).split(x, y))
    results = []
    for params in GRID:
        aucs, losses = [], []
        for tr, va in folds:
            m = make_classifier(params).fit(x[tr], y[tr])
            p = m.predict_proba(x[va])[:, 1]
            aucs.append(auroc(y[va], p))
            losses.append(log_loss(y[va], p))
        results.append({**params, "cvAuroc": round(float(np.mean(aucs)), 4), "cvAurocSd": round(float(np.std(aucs)), 4),
                        "cvLogLoss": round(float(np.mean(losses)), 4)})
    best = max(results, key=lambda r: (round(r["cvAuroc"], 3), -r["n_estimators"] * 2 ** r["max_depth"], -r["cvLogLoss"]))
    chosen = {k: best[k] for k in ("n_estimators", "max_depth", "learning_rate")}
    return chosen, results


# ----------------------------------------------------------------------------------------------
# Metrics


def auroc(y, p):
    """Area under the ROC curve as the Mann-Whitney U statistic (ties count one half)."""
    y = np.asarray(y)
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = rankdata(p)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def log_loss(y, p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def bootstrap_auroc_ci(y, p, rng):
    """Percentile 95 % interval over BOOTSTRAP_RESAMPLES resamples of the rows (Efron & Tibshirani,
    An Introduction to the Bootstrap, 1993, ch. 13); resamples with one class only are skipped."""
    n = len(y)
    stats = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        idx = rng.integers(0, n, n)
        a = auroc(y[idx], p[idx])
        if not math.isnan(a):
            stats.append(a)
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return float(lo), float(hi), len(stats)


def logistic_fit(design, y, offset=None):
    """Unpenalised logistic regression by Newton-Raphson; returns coefficients or None when it
    does not converge (separation in a small subgroup)."""
    beta = np.zeros(design.shape[1])
    off = np.zeros(len(y)) if offset is None else offset
    for _ in range(100):
        eta = design @ beta + off
        mu = 1 / (1 + np.exp(-eta))
        w = mu * (1 - mu)
        grad = design.T @ (y - mu)
        hess = design.T @ (design * w[:, None])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            return beta if np.all(np.isfinite(beta)) and np.max(np.abs(beta)) < 50 else None
    return None


def calibration(y, p):
    """Logistic recalibration on the logit of the prediction (Cox, Biometrika 1958; Van Calster et
    al., J Clin Epidemiol 2016): slope and intercept from logit(P(y)) = a + b * logit(p), and
    calibration-in-the-large as the intercept with the slope fixed at 1."""
    lp = np.log(np.clip(p, 1e-7, 1 - 1e-7) / (1 - np.clip(p, 1e-7, 1 - 1e-7)))
    y = y.astype(float)
    both = logistic_fit(np.column_stack([np.ones_like(lp), lp]), y)
    citl = logistic_fit(np.ones((len(y), 1)), y, offset=lp)
    return {
        "slope": None if both is None else round(float(both[1]), 4),
        "intercept": None if both is None else round(float(both[0]), 4),
        "calibrationInTheLarge": None if citl is None else round(float(citl[0]), 4),
    }


def reliability_bins(y, p, n_bins):
    """Quantile bins of the predicted probability: mean predicted, observed rate and n per bin."""
    order = np.argsort(p, kind="mergesort")
    bins = []
    for chunk in np.array_split(order, n_bins):
        if len(chunk) == 0:
            continue
        bins.append({
            "from": round(float(p[chunk].min()), 4),
            "to": round(float(p[chunk].max()), 4),
            "meanPredicted": round(float(p[chunk].mean()), 4),
            "observedRate": round(float(y[chunk].mean()), 4),
            "n": int(len(chunk)),
            "events": int(y[chunk].sum()),
        })
    return bins


def evaluate(y, p, rng, n_bins):
    n, events = int(len(y)), int(y.sum())
    out = {"n": n, "events": events}
    if events == 0 or events == n:
        out["note"] = "one outcome class only: discrimination and calibration not estimable"
        out["brier"] = round(float(np.mean((p - y) ** 2)), 4)
        return out
    lo, hi, used = bootstrap_auroc_ci(y, p, rng)
    out["auroc"] = {"estimate": round(auroc(y, p), 4), "ci95": [round(lo, 4), round(hi, 4)],
                    "method": f"percentile bootstrap, {BOOTSTRAP_RESAMPLES} resamples ({used} with both classes), seed {SEED}"}
    out["calibration"] = calibration(y, p)
    out["brier"] = round(float(np.mean((p - y) ** 2)), 4)
    out["brierOfPrevalence"] = round(float(np.mean((y.mean() - y) ** 2)), 4)
    out["reliabilityBins"] = reliability_bins(y, p, n_bins)
    return out


def threshold_table(y, p, cuts):
    rows = []
    for c in cuts:
        pred = p >= c
        tp = int(np.sum(pred & (y == 1)))
        fp = int(np.sum(pred & (y == 0)))
        fn = int(np.sum(~pred & (y == 1)))
        tn = int(np.sum(~pred & (y == 0)))
        rows.append({
            "threshold": c,
            "flagged": tp + fp,
            "sensitivity": round(tp / (tp + fn), 4) if tp + fn else None,
            "specificity": round(tn / (tn + fp), 4) if tn + fp else None,
            "ppv": round(tp / (tp + fp), 4) if tp + fp else None,
            "npv": round(tn / (tn + fn), 4) if tn + fn else None,
        })
    return rows


def subgroup_masks(x):
    age = x[:, FEATURE_IDS.index("age")]
    bmi = x[:, FEATURE_IDS.index("bmi")]
    with np.errstate(invalid="ignore"):
        return {
            "age 21-29": (age >= 21) & (age <= 29),
            "age 30-39": (age >= 30) & (age <= 39),
            "age 40+": age >= 40,
            "BMI < 30": bmi < 30,
            "BMI >= 30": bmi >= 30,
            "BMI not recorded": np.isnan(bmi),
        }


# ----------------------------------------------------------------------------------------------
# Trees: xgboost JSON -> arrays -> ONNX


def read_trees(booster):
    """Trees from xgboost's JSON model. Leaf values there are already scaled by the learning rate
    and stored in split_conditions; sum_hessian is the node cover (sum of hessians of the training
    rows that reach the node), which path-dependent TreeSHAP uses."""
    model = json.loads(booster.save_raw(raw_format="json"))
    learner = model["learner"]
    if learner["objective"]["name"] != "binary:logistic":
        sys.exit("expected binary:logistic")
    base_score = float(learner["learner_model_param"]["base_score"])
    trees = []
    for t in learner["gradient_booster"]["model"]["trees"]:
        if any(t["split_type"]):
            sys.exit("categorical splits are not supported by this converter")
        trees.append({
            "left": [int(v) for v in t["left_children"]],
            "right": [int(v) for v in t["right_children"]],
            "feature": [int(v) for v in t["split_indices"]],
            # float32 exactly as xgboost stores and compares them
            "value": np.asarray(t["split_conditions"], dtype=np.float32),
            "default_left": [int(v) for v in t["default_left"]],
            "cover": [float(v) for v in t["sum_hessian"]],
        })
    return trees, base_score


def build_onnx(trees, base_margin, n_features):
    """ai.onnx.ml TreeEnsembleClassifier (opset 3), no ZipMap. Node i of tree t keeps xgboost's id
    i. xgboost goes left when x < threshold (float32 on both sides), which is BRANCH_LT with the
    left child as the true branch; a missing value follows default_left, which is
    nodes_missing_value_tracks_true. All leaves add their weight to class 0 of a two-class
    ensemble: onnxruntime's binary case then outputs [1 - s, s] with s = sigmoid(base + sum)
    under post_transform LOGISTIC, the same as xgboost's predict_proba."""
    a = {k: [] for k in ("treeids", "nodeids", "featureids", "values", "modes", "true", "false", "missing", "hitrates")}
    c_tree, c_node, c_weight = [], [], []
    for ti, t in enumerate(trees):
        for ni in range(len(t["left"])):
            leaf = t["left"][ni] == -1
            a["treeids"].append(ti)
            a["nodeids"].append(ni)
            a["featureids"].append(0 if leaf else t["feature"][ni])
            a["values"].append(0.0 if leaf else float(t["value"][ni]))
            a["modes"].append("LEAF" if leaf else "BRANCH_LT")
            a["true"].append(0 if leaf else t["left"][ni])
            a["false"].append(0 if leaf else t["right"][ni])
            a["missing"].append(0 if leaf else t["default_left"][ni])
            a["hitrates"].append(t["cover"][ni])
            if leaf:
                c_tree.append(ti)
                c_node.append(ni)
                c_weight.append(float(t["value"][ni]))
    node = helper.make_node(
        "TreeEnsembleClassifier",
        inputs=["features"],
        outputs=["label", "probabilities"],
        domain="ai.onnx.ml",
        name="pima_diabetes_trees",
        classlabels_int64s=[0, 1],
        post_transform="LOGISTIC",
        base_values=[float(base_margin)],
        nodes_treeids=a["treeids"],
        nodes_nodeids=a["nodeids"],
        nodes_featureids=a["featureids"],
        nodes_values=a["values"],
        nodes_modes=a["modes"],
        nodes_truenodeids=a["true"],
        nodes_falsenodeids=a["false"],
        nodes_missing_value_tracks_true=a["missing"],
        nodes_hitrates=a["hitrates"],
        class_treeids=c_tree,
        class_nodeids=c_node,
        class_ids=[0] * len(c_tree),
        class_weights=c_weight,
    )
    graph = helper.make_graph(
        [node],
        "pima_diabetes",
        inputs=[helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", n_features])],
        outputs=[
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2]),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
        producer_name="riskcards-pima-train",
        producer_version="1",
        doc_string="Pima Indians Diabetes XGBoost classifier (demonstration model, not for clinical use).",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def walk_onnx_trees(model, x):
    """Independent evaluation of the ONNX attributes (not of xgboost's objects): follow each tree
    from node 0 with float32 comparisons and the ONNX missing-value rule, sum the class weights,
    add the base value and apply the logistic function."""
    attrs = {a.name: helper.get_attribute_value(a) for a in model.graph.node[0].attribute}
    by_tree = {}
    for i, (t, n) in enumerate(zip(attrs["nodes_treeids"], attrs["nodes_nodeids"])):
        by_tree.setdefault(t, {})[n] = i
    leaf_weight = {}
    for t, n, w in zip(attrs["class_treeids"], attrs["class_nodeids"], attrs["class_weights"]):
        leaf_weight[(t, n)] = leaf_weight.get((t, n), np.float32(0)) + np.float32(w)
    thresholds = np.asarray(attrs["nodes_values"], dtype=np.float32)
    modes = [m.decode() if isinstance(m, bytes) else m for m in attrs["nodes_modes"]]
    margins = np.zeros(len(x), dtype=np.float64)
    for r, row in enumerate(x.astype(np.float32)):
        total = 0.0
        for t, nodes in by_tree.items():
            n = 0
            while True:
                i = nodes[n]
                if modes[i] == "LEAF":
                    total += float(leaf_weight[(t, n)])
                    break
                v = row[attrs["nodes_featureids"][i]]
                go_true = bool(attrs["nodes_missing_value_tracks_true"][i]) if np.isnan(v) else bool(v < thresholds[i])
                n = attrs["nodes_truenodeids"][i] if go_true else attrs["nodes_falsenodeids"][i]
        margins[r] = total + attrs["base_values"][0]
    return 1 / (1 + np.exp(-margins)), margins


# ----------------------------------------------------------------------------------------------
# Explanation fixtures


def interventional_shap(booster, x_rows, background):
    """Exact interventional Shapley values in margin units by enumerating all 2^5 coalitions:
    v(S) = mean over background rows b of f(x_S, b_rest) (Janzing et al., AISTATS 2020; Lundberg et
    al., Nat Mach Intell 2020, "interventional" TreeSHAP computes the same quantity)."""
    m = x_rows.shape[1]
    subsets = [s for k in range(m + 1) for s in combinations(range(m), k)]
    value = {}
    for s in subsets:
        mixed = np.repeat(background[None, :, :], len(x_rows), axis=0).copy()
        for j in s:
            mixed[:, :, j] = x_rows[:, j][:, None]
        flat = mixed.reshape(-1, m)
        margin = booster.predict(xgb.DMatrix(flat, missing=np.nan), output_margin=True)
        value[s] = margin.reshape(len(x_rows), len(background)).mean(axis=1)
    phi = np.zeros((len(x_rows), m))
    for i in range(m):
        for s in subsets:
            if i in s:
                continue
            weight = math.factorial(len(s)) * math.factorial(m - len(s) - 1) / math.factorial(m)
            with_i = tuple(sorted(s + (i,)))
            phi[:, i] += weight * (value[with_i] - value[s])
    return phi, value[()], value[tuple(range(m))]


# ----------------------------------------------------------------------------------------------
# Output


def nan_to_none(v):
    return None if (isinstance(v, float) and math.isnan(v)) else v


def decimal(v):
    """The shortest decimal that reads back as the same float32 (24.2, not 24.200000762939453), so
    that consumers rounding it to float32 feed the model exactly what xgboost saw."""
    return nan_to_none(float(str(np.float32(v))))


def row_json(row):
    return [decimal(v) for v in row]


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2, allow_nan=False)
        fh.write("\n")


def rel(path):
    return os.path.relpath(path, REPO_ROOT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("--data", default=DEFAULT_DATA, help="pima.csv (768 rows, empty field = missing)")
    args = ap.parse_args()

    x, y = load_pima(args.data)
    with open(args.data, "rb") as fh:
        data_sha = hashlib.sha256(fh.read()).hexdigest()
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=TEST_FRACTION, stratify=y, random_state=SEED)
    tr, te = np.sort(tr), np.sort(te)
    x_tr, y_tr, x_te, y_te = x[tr], y[tr], x[te], y[te]

    params, grid = choose_hyperparameters(x_tr, y_tr)
    print(f"chosen by {CV_FOLDS}-fold CV: {params}")
    clf = make_classifier(params).fit(x_tr, y_tr)
    booster = clf.get_booster()

    # --- conversion and its check -------------------------------------------------------------
    trees, base_score = read_trees(booster)
    base_margin = math.log(base_score / (1 - base_score))
    model = build_onnx(trees, base_margin, len(FEATURES))
    p_xgb = clf.predict_proba(x)[:, 1].astype(np.float64)
    margin_xgb = booster.predict(xgb.DMatrix(x, missing=np.nan), output_margin=True).astype(np.float64)
    p_walk, margin_walk = walk_onnx_trees(model, x)
    max_diff = float(np.max(np.abs(p_walk - p_xgb)))
    max_margin_diff = float(np.max(np.abs(margin_walk - margin_xgb)))
    print(f"ONNX tree walk vs xgboost on all {len(x)} rows: max |dp| = {max_diff:.3g}, max |dmargin| = {max_margin_diff:.3g}")
    if max_diff > 1e-6:
        sys.exit("ONNX conversion does not reproduce xgboost")

    onnx_bytes = model.SerializeToString()
    onnx_path = os.path.join(PACKAGE_DIR, "model.onnx")
    with open(onnx_path, "wb") as fh:
        fh.write(onnx_bytes)
    onnx_sha = hashlib.sha256(onnx_bytes).hexdigest()

    # --- held-out evaluation --------------------------------------------------------------------
    rng = np.random.default_rng(SEED)
    p_te = p_xgb[te]
    overall = evaluate(y_te, p_te, rng, n_bins=10)
    subgroups = {}
    for name, mask in subgroup_masks(x_te).items():
        subgroups[name] = evaluate(y_te[mask], p_te[mask], rng, n_bins=5)
    thresholds = threshold_table(y_te, p_te, CATEGORY_CUTS)
    in_category = np.digitize(p_te, CATEGORY_CUTS)
    category_counts = [{"n": int(np.sum(in_category == k)), "events": int(y_te[in_category == k].sum())} for k in range(3)]
    train_apparent = {"auroc": round(auroc(y_tr, p_xgb[tr]), 4), "brier": round(float(np.mean((p_xgb[tr] - y_tr) ** 2)), 4)}
    print(f"held-out AUROC {overall['auroc']['estimate']} {overall['auroc']['ci95']}, calibration {overall['calibration']}, Brier {overall['brier']}")

    # --- reference point, background and drift bins --------------------------------------------
    means = {f: float(np.nanmean(x_tr[:, j])) for j, f in enumerate(FEATURE_IDS)}
    medians = {f: float(np.nanmedian(x_tr[:, j])) for j, f in enumerate(FEATURE_IDS)}
    bg_rng = np.random.default_rng(SEED + 1)
    bg_idx = np.sort(bg_rng.choice(len(tr), size=100, replace=False))
    background = x_tr[bg_idx]
    distribution = {}
    for j, f in enumerate(FEATURE_IDS):
        col = x_tr[:, j]
        seen = col[~np.isnan(col)]
        edges = sorted({decimal(v) for v in np.quantile(seen, np.linspace(0.1, 0.9, 9), method="lower") if v > seen.min()})
        # bins as in src/observe/drift.ts: (-inf, e0), [e0, e1), ..., [e_last, +inf)
        counts = np.bincount(np.searchsorted(np.asarray(edges, dtype=np.float32), seen, side="right"), minlength=len(edges) + 1)
        distribution[f] = {
            "edges": edges,
            "proportions": [round(float(c) / len(seen), 6) for c in counts],
            "n": int(len(seen)),
            "missingProportion": round(float(np.isnan(col).mean()), 6),
        }

    # --- reference cases: complete held-out rows spread over the risk range ---------------------
    complete_te = [i for i in te if not np.any(np.isnan(x[i]))]
    by_risk = sorted(complete_te, key=lambda i: p_xgb[i])
    picks = [by_risk[int(q * (len(by_risk) - 1))] for q in (0.05, 0.3, 0.55, 0.8, 0.97)]
    reference_cases = [{
        "inputs": {f: decimal(x[i, j]) for j, f in enumerate(FEATURE_IDS)},
        "expectedRisk": round(float(p_xgb[i]), 7),
        "tolerance": 1e-5,
        "note": f"held-out row {int(i) + 1} of pima.csv (outcome {int(y[i])}); expectedRisk is xgboost {xgb.__version__} predict_proba",
    } for i in picks]

    # --- TreeSHAP fixtures ----------------------------------------------------------------------
    contribs = booster.predict(xgb.DMatrix(x, missing=np.nan), pred_contribs=True).astype(np.float64)
    additivity = float(np.max(np.abs(contribs.sum(axis=1) - margin_xgb)))
    print(f"pred_contribs additivity: max |sum - margin| = {additivity:.3g}")
    if additivity > 1e-4:
        sys.exit("pred_contribs do not add up to the margin")
    train_rows = set(tr.tolist())
    split_of = {int(i): ("train" if int(i) in train_rows else "test") for i in idx}
    write_json(os.path.join(FIXTURE_DIR, "xgb-contribs.json"), {
        "description": "Path-dependent TreeSHAP from xgboost predict(DMatrix, pred_contribs=True) for every row of pima.csv, "
                       "for the model in models/pima-diabetes/model.onnx. Units: log-odds (margin). "
                       "sum(contribs) + bias = margin; probability = 1 / (1 + exp(-margin)). null input = missing (NaN).",
        "generator": f"models/pima-diabetes/train/train.py (xgboost {xgb.__version__})",
        "modelSha256": onnx_sha,
        "features": FEATURE_IDS,
        "rows": [{
            "row": int(i) + 1,
            "split": split_of[int(i)],
            "input": row_json(x[i]),
            "contribs": [round(float(v), 9) for v in contribs[i, :-1]],
            "bias": round(float(contribs[i, -1]), 9),
            "margin": round(float(margin_xgb[i]), 9),
            "probability": round(float(p_xgb[i]), 9),
        } for i in idx],
    })
    # Interventional Shapley values against background.json, by brute force (xgboost 1.7 has no
    # interventional TreeSHAP): the first 60 rows of pima.csv, which include missing values.
    sample = x[:60]
    phi, v_empty, v_full = interventional_shap(booster, sample, background)
    check = float(np.max(np.abs(v_empty + phi.sum(axis=1) - v_full)))
    if check > 1e-5:
        sys.exit("interventional Shapley values do not add up")
    write_json(os.path.join(FIXTURE_DIR, "interventional-shap.json"), {
        "description": "Exact interventional Shapley values (all 32 coalitions enumerated; v(S) = mean over the 100 rows of "
                       "models/pima-diabetes/background.json of the xgboost margin with features S taken from the input and "
                       "the rest from the background row; null = missing, NaN follows each split's default direction). "
                       "Units: log-odds. expectedValue + sum(phi) = margin.",
        "generator": f"models/pima-diabetes/train/train.py (xgboost {xgb.__version__})",
        "modelSha256": onnx_sha,
        "features": FEATURE_IDS,
        "expectedValue": round(float(v_empty[0]), 9),
        "rows": [{
            "row": i + 1,
            "input": row_json(sample[i]),
            "phi": [round(float(v), 9) for v in phi[i]],
            "margin": round(float(v_full[i]), 9),
        } for i in range(len(sample))],
    })

    write_json(os.path.join(PACKAGE_DIR, "background.json"), {
        "description": "100 rows drawn without replacement (seed %d) from the training part, as the background set for "
                       "interventional TreeSHAP. null = not recorded (the model passes NaN)." % (SEED + 1),
        "features": FEATURE_IDS,
        "rows": [row_json(r) for r in background],
    })
    write_json(os.path.join(PACKAGE_DIR, "training-distribution.json"), {
        "description": "Per-feature bins of the training part (n=%d) for drift monitoring (PSI). Inner edges are deciles of "
                       "the recorded values (duplicates merged); bins are (-inf, e0), [e0, e1), ..., [e_last, +inf). "
                       "Proportions are over recorded values; missingProportion is the share not recorded." % len(tr),
        "features": distribution,
    })

    manifest = build_manifest(onnx_sha, params, grid, overall, subgroups, thresholds, category_counts,
                              train_apparent, means, medians, reference_cases, len(tr), len(te), data_sha,
                              {"maxAbsProbabilityDiff": max_diff, "maxAbsMarginDiff": max_margin_diff})
    write_json(os.path.join(PACKAGE_DIR, "manifest.json"), manifest)
    write_json(os.path.join(PACKAGE_DIR, "features.json"), build_features(medians, x))
    update_readme_results(manifest)
    print("wrote", ", ".join(rel(p) for p in (onnx_path, os.path.join(PACKAGE_DIR, "manifest.json"),
                                                 os.path.join(PACKAGE_DIR, "features.json"), FIXTURE_DIR)))
    print(f"model.onnx sha256 {onnx_sha}")


def results_markdown(manifest):
    perf = manifest["modelCard"]["performance"]

    def row(name, e):
        if "auroc" not in e:
            return f"| {name} | {e['n']} | {e['events']} | not estimable | | | {e['brier']:.3f} |"
        cal = e["calibration"]
        fmt = lambda v: "n/a" if v is None else f"{v:.2f}"
        lo, hi = e["auroc"]["ci95"]
        return (f"| {name} | {e['n']} | {e['events']} | {e['auroc']['estimate']:.3f} ({lo:.3f}-{hi:.3f}) | "
                f"{fmt(cal['slope'])} | {fmt(cal['intercept'])} | {e['brier']:.3f} |")

    lines = [
        f"Model: {perf['model']['n_estimators']} trees, depth {perf['model']['max_depth']}, learning rate "
        f"{perf['model']['learning_rate']} (chosen by {CV_FOLDS}-fold CV on the training part). Held-out part: "
        f"{perf['split']['test']} women. AUROC 95 % CI: percentile bootstrap, {BOOTSTRAP_RESAMPLES} resamples. "
        "Calibration: logistic recalibration on the logit (ideal slope 1, intercept 0).",
        "",
        "| group | n | events | AUROC (95 % CI) | cal. slope | cal. intercept | Brier |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
        row("all held-out", perf["heldOut"]),
    ]
    lines += [row(k, v) for k, v in perf["subgroups"].items()]
    lines += [
        "",
        f"Apparent (training part) AUROC {perf['trainingApparent']['auroc']:.3f}, Brier {perf['trainingApparent']['brier']:.3f}; "
        f"held-out Brier of always predicting the prevalence {perf['heldOut']['brierOfPrevalence']:.3f}.",
        "",
        "Held-out reliability (deciles of predicted probability):",
        "",
        "| predicted range | mean predicted | observed | n |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {b['from']:.3f}-{b['to']:.3f} | {b['meanPredicted']:.3f} | {b['observedRate']:.3f} | {b['n']} |"
              for b in perf["heldOut"]["reliabilityBins"]]
    lines += ["", "Category cut-offs on the held-out part:", "",
              "| flagged when risk >= | flagged | sensitivity | specificity | PPV | NPV |",
              "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {t['threshold']} | {t['flagged']} | {t['sensitivity']:.3f} | {t['specificity']:.3f} | {t['ppv']:.3f} | {t['npv']:.3f} |"
              for t in perf["categoryThresholds"]]
    by_cat = perf["heldOutByCategory"]
    lines += ["", "Held-out women per category: " + ", ".join(
        f"{k} {v['n']} ({v['events']} with diabetes)" for k, v in by_cat.items()) + "."]
    lines += ["", f"Conversion check: max |ONNX tree walk - xgboost| over all 768 rows = "
              f"{perf['conversion']['maxAbsProbabilityDiff']:.2g} (probability), "
              f"{perf['conversion']['maxAbsMarginDiff']:.2g} (log-odds). model.onnx sha256 `{manifest['onnx']['sha256']}`."]
    return "\n".join(lines)


def update_readme_results(manifest):
    """Rewrites the results section of README.md (between its markers) from the manifest, so the
    table there is always the one this run produced."""
    path = os.path.join(HERE, "README.md")
    start, end = "<!-- results:start (written by train.py) -->", "<!-- results:end -->"
    with open(path) as fh:
        text = fh.read()
    if start not in text or end not in text:
        sys.exit(f"{rel(path)} lacks the results markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as fh:
        fh.write(head + start + "\n" + results_markdown(manifest) + "\n" + end + tail)


def build_manifest(onnx_sha, params, grid, overall, subgroups, thresholds, category_counts, train_apparent,
                   means, medians, reference_cases, n_train, n_test, data_sha, conversion):
    lo, hi = CATEGORY_CUTS
    fmt = {"pregnancies": "%.1f pregnancies", "glucose_2h_ogtt": "2-h OGTT glucose %.0f mg/dL",
           "diastolic_bp": "diastolic BP %.0f mm Hg", "bmi": "BMI %.1f kg/m2", "age": "age %.0f years"}
    return {
        "id": "pima-diabetes",
        "version": "1.0.0",
        "name": "Pima diabetes classifier (demonstration)",
        "outcome": (
            "Probability that the woman has diabetes by WHO criteria (2-h plasma glucose >= 200 mg/dL after a 75 g oral "
            "glucose load at a survey examination, or diabetes found in routine medical care) at the time of the "
            "measurements: a prevalent-diabetes classifier fitted to the 1990 Pima Indians Diabetes data set, not a "
            "risk of developing diabetes in the future."
        ),
        "riskLabel": "Probability of diabetes (Pima demonstration model)",
        "onnx": {"file": "model.onnx", "sha256": onnx_sha},
        "input": {"name": "features", "type": "float32"},
        "output": {"name": "probabilities", "column": 1},
        "categories": [
            {"code": "low", "label": "Low probability of diabetes", "below": lo, "indicator": "info"},
            {"code": "elevated", "label": "Elevated probability of diabetes", "below": hi, "indicator": "warning"},
            {"code": "high", "label": "High probability of diabetes", "indicator": "warning"},
        ],
        "explanation": {
            "method": "tree-shap",
            "reference": {f: round(v, 2) for f, v in means.items()},
            "referenceDescription": (
                "the average woman of the training set (Pima Indian women aged 21 or older, Arizona): "
                + ", ".join(fmt[f] % means[f] for f in FEATURE_IDS)
                + " (means of recorded values in the training part)"
            ),
            "whatIf": [
                {"label": "BMI at 25 kg/m2", "set": {"bmi": 25}, "when": {"feature": "bmi", "op": ">", "value": 25}},
            ],
        },
        "modelCard": {
            "intendedUse": (
                "Demonstrates the RiskCards pipeline (FHIR data to model features, a tree-ensemble ONNX model, TreeSHAP "
                "explanation, CDS Hooks card) with a machine-learned model. Not for clinical use: it must not be used to "
                "diagnose, screen for or rule out diabetes. Trained on Pima Indian women aged 21 or older near Phoenix, "
                "Arizona (NIDDK data donated to UCI in 1990)."
            ),
            "population": (
                "768 women of Pima Indian (Akimel O'odham) heritage aged 21-81 living near Phoenix, Arizona, examined in "
                "the NIDDK longitudinal study (Smith et al. 1988); 268 (34.9 %) had diabetes by WHO criteria. "
                f"Stratified split: {n_train} training rows, {n_test} held-out rows (seed {SEED})."
            ),
            "exclusions": [
                "Men (the data contain women only).",
                "Women younger than 21.",
                "People already diagnosed with diabetes (the question the model answers is already settled).",
                "Pregnancy (the glucose thresholds for gestational diabetes differ; not represented in the data).",
            ],
            "performance": {
                "dataSet": {"file": "pima.csv", "sha256": data_sha, "rows": n_train + n_test},
                "split": {"method": "stratified held-out split", "testFraction": TEST_FRACTION, "seed": SEED,
                          "train": n_train, "test": n_test},
                "model": {"library": f"xgboost {xgb.__version__}", "objective": "binary:logistic", "treeMethod": "exact",
                          **params, "missingValues": "native (NaN follows each split's learned default direction)"},
                "selection": {"method": f"{CV_FOLDS}-fold stratified CV on the training part; best mean AUROC, ties to the smaller model",
                              "grid": grid},
                "heldOut": overall,
                "subgroups": subgroups,
                "categoryThresholds": thresholds,
                "heldOutByCategory": dict(zip(("low", "elevated", "high"), category_counts)),
                "trainingApparent": train_apparent,
                "conversion": {"check": "independent walk of the ONNX tree arrays vs xgboost predict_proba, all 768 rows",
                               **{k: float(f"{v:.3g}") for k, v in conversion.items()}},
                "generatedBy": "models/pima-diabetes/train/train.py",
                "software": {"python": sys.version.split()[0], "numpy": np.__version__, "scikit-learn": sklearn.__version__,
                             "xgboost": xgb.__version__, "onnx": onnx.__version__},
            },
            "limitations": [
                "One Indigenous community in one region, examined before 1990: prevalence (34.9 %), body size and "
                "diabetes risk differ from most other populations, so probabilities will not transfer; it was not "
                "externally validated.",
                "Prevalent, not incident, diabetes: the outcome was partly defined by a 2-h OGTT glucose >= 200 mg/dL, and "
                "the 2-h glucose is itself an input and the strongest one (largest mean absolute SHAP value), so much of "
                "what the model finds restates the glucose result. No recorded "
                "glucose in the data reaches 200 mg/dL (maximum 199); a value >= 200 meets the WHO criterion on its own "
                "and lies outside the validated range.",
                "Needs a 2-h glucose after a 75 g oral load; other glucose tests (fasting, random, post-meal, HbA1c) are "
                "not substitutes and are not read.",
                "Diastolic blood pressure and BMI may be missing: the model then passes NaN and each tree follows the "
                "direction it learned for missing values from few examples (35 and 11 of 768 rows missing); the card says so.",
                "Skin fold thickness, 2-h serum insulin and the diabetes pedigree function of the original data were "
                "dropped (rarely recorded in EHRs, 30 % and 49 % missing, no FHIR representation respectively), which "
                "costs some discrimination compared with published 8-feature models.",
                f"Small held-out set ({n_test} women): wide confidence intervals, especially in subgroups.",
                f"Some over-fitting: apparent (training) AUROC {train_apparent['auroc']:.2f} against "
                f"{overall['auroc']['estimate']:.2f} held out, and a held-out calibration slope of "
                f"{overall['calibration']['slope']:.2f} (below 1: predicted probabilities are too extreme).",
                "Discrimination differs by age: held-out AUROC "
                + ", ".join(f"{k[4:]} {v['auroc']['estimate']:.2f}" for k, v in subgroups.items() if k.startswith("age") and "auroc" in v)
                + "; in women aged 40 or older the model separates cases poorly.",
                "A missing pregnancy count is replaced by the training median; the count is taken as recorded in "
                "the EHR, which may omit pregnancies that did not reach delivery.",
            ],
            "references": [
                "Smith JW, Everhart JE, Dickson WC, Knowler WC, Johannes RS. Using the ADAP learning algorithm to forecast "
                "the onset of diabetes mellitus. Proc Symp Comput Appl Med Care 1988:261-265.",
                "UCI Machine Learning Repository: Pima Indians Diabetes Database (donated 9 May 1990).",
                "Chen T, Guestrin C. XGBoost: a scalable tree boosting system. KDD 2016.",
                "Lundberg SM et al. From local explanations to global understanding with explainable AI for trees. "
                "Nat Mach Intell 2020;2:56-67.",
                "Van Calster B et al. A calibration hierarchy for risk models was defined: from utopia to empirical data. "
                "J Clin Epidemiol 2016;74:167-176.",
                "World Health Organization. Definition, diagnosis and classification of diabetes mellitus. WHO/NCD/NCS/99.2, 1999.",
            ],
        },
        "referenceCases": reference_cases,
    }


def build_features(medians, x):
    loinc = "http://loinc.org"
    rng_of = {f: [decimal(np.nanmin(x[:, j])), decimal(np.nanmax(x[:, j]))] for j, f in enumerate(FEATURE_IDS)}
    bp_component = "component.where(code.coding.where(system='http://loinc.org' and code='8462-4').exists()).value"
    preg_median = medians["pregnancies"]
    return {
        "features": [
            {
                "id": "pregnancies",
                "label": "Number of pregnancies",
                "unit": "{#}",
                "source": "observation-quantity",
                "codes": [{"system": loinc, "code": "11996-6", "display": "[#] Pregnancies"}],
                "lookback": "P100Y",
                "aggregation": "latest",
                "plausible": [0, 30],
                "validRange": rng_of["pregnancies"],
                "modifiable": False,
                "missing": {
                    "policy": "impute",
                    "value": preg_median,
                    "statement": f"number of pregnancies not recorded: assumed {preg_median:g}, the median of the training data",
                },
            },
            {
                "id": "glucose_2h_ogtt",
                "label": "Plasma glucose 2 h after a 75 g oral glucose load",
                "unit": "mg/dL",
                "source": "observation-quantity",
                "codes": [
                    {"system": loinc, "code": "1518-0", "display": "Glucose [Mass/volume] in Serum or Plasma --2 hours post 75 g glucose PO"},
                    {"system": loinc, "code": "20436-2", "display": "Glucose [Mass/volume] in Serum or Plasma --2 hours post dose glucose"},
                ],
                "molarMass": 180.156,
                "lookback": "P3Y",
                "staleAfter": "P1Y",
                "aggregation": "latest",
                "plausible": [20, 1000],
                "validRange": rng_of["glucose_2h_ogtt"],
                "modifiable": False,
                "missing": {
                    "policy": "required",
                    "order": {"system": loinc, "code": "1518-0", "display": "Glucose [Mass/volume] in Serum or Plasma --2 hours post 75 g glucose PO"},
                },
            },
            {
                "id": "diastolic_bp",
                "label": "Diastolic blood pressure",
                "unit": "mm[Hg]",
                "source": "observation-quantity",
                "codes": [{"system": loinc, "code": "8462-4", "display": "Diastolic blood pressure"}],
                "panels": [{
                    "codes": [
                        {"system": loinc, "code": "85354-9", "display": "Blood pressure panel with all children optional"},
                        {"system": loinc, "code": "55284-4", "display": "Blood pressure systolic and diastolic"},
                    ],
                    "valuePath": bp_component,
                }],
                "lookback": "P2Y",
                "staleAfter": "P1Y",
                "aggregation": "latest",
                "plausible": [20, 160],
                "validRange": rng_of["diastolic_bp"],
                "modifiable": True,
                "missing": {
                    "policy": "impute",
                    "statement": "diastolic blood pressure not recorded: the model followed the path it learned for a "
                                 "missing value (35 of the 768 training records had none)",
                },
            },
            {
                "id": "bmi",
                "label": "Body mass index",
                "unit": "kg/m2",
                "source": "observation-quantity",
                "codes": [{"system": loinc, "code": "39156-5", "display": "Body mass index (BMI) [Ratio]"}],
                "lookback": "P2Y",
                "staleAfter": "P1Y",
                "aggregation": "latest",
                "plausible": [10, 90],
                "validRange": rng_of["bmi"],
                "modifiable": True,
                "missing": {
                    "policy": "impute",
                    "statement": "BMI not recorded: the model followed the path it learned for a missing value "
                                 "(11 of the 768 training records had none)",
                },
            },
            {
                "id": "age",
                "label": "Age",
                "unit": "a",
                "source": "age",
                "validRange": rng_of["age"],
                "modifiable": False,
                "missing": {"policy": "required"},
            },
        ],
        "applicability": {
            "sex": ["female"],
            "ageRange": [21, 120],
            "exclusions": [{
                "label": "diabetes already diagnosed",
                "evidence": [{
                    "resourceType": "Condition",
                    "codes": [
                        {"system": "http://snomed.info/sct", "code": "73211009", "display": "Diabetes mellitus"},
                        {"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes mellitus type 2"},
                        {"system": "http://snomed.info/sct", "code": "46635009", "display": "Diabetes mellitus type 1"},
                        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E10", "prefix": True},
                        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11", "prefix": True},
                        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E13", "prefix": True},
                    ],
                    "clinicalStatus": ["active", "recurrence", "relapse"],
                }],
            }, {
                # 2-h OGTT thresholds in pregnancy differ (gestational diabetes criteria), and the data
                # hold no pregnant examinations. Synthea records pregnancies as Condition 72892002.
                "label": "currently pregnant",
                "evidence": [{
                    "resourceType": "Condition",
                    "codes": [
                        {"system": "http://snomed.info/sct", "code": "72892002", "display": "Normal pregnancy"},
                        {"system": "http://snomed.info/sct", "code": "77386006", "display": "Pregnancy"},
                        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "Z33.1", "display": "Pregnant state, incidental"},
                    ],
                    "clinicalStatus": ["active"],
                }],
            }],
        },
    }


if __name__ == "__main__":
    main()
