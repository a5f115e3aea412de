"""An XGBoost binary forest compiled to flat arrays: margins and exact TreeSHAP in numba.

One call of XGBoost's own ``predict(..., pred_contribs=True)`` on one row costs about
250 us, nearly all of it outside the arithmetic (a DMatrix, the call's configuration,
its thread setup); the trees of a sub-model take a few microseconds to walk. So the
serving path walks them itself: :class:`CompiledForest` reads the booster's JSON
once (split feature, threshold, default direction, leaf value and cover of each node)
and two compiled loops give, per row,

* the margin (log-odds): the sum of the reached leaves plus the base margin;
* the exact TreeSHAP contributions of Lundberg, Erion & Lee (2018, "Consistent
  individualized feature attribution for tree ensembles", algorithm 2), the algorithm
  XGBoost's ``pred_contribs`` runs, with the bias (each tree's cover-weighted mean leaf,
  plus the base margin) in the last column. Each row sums to its margin.

Rows are routed exactly as XGBoost routes them: the feature value is rounded to float32
(XGBoost stores a DMatrix in float32), goes left when below the float32 threshold and
takes the node's default branch when missing (NaN). The arithmetic is float64 where
XGBoost's is float32, so results agree with XGBoost's to about 1e-6 and are
more exact; :meth:`CompiledForest.from_booster` checks the agreement on probe rows
and refuses a model it does not reproduce (categorical splits, several targets).

Examples
--------
>>> import numpy as np, xgboost as xgb
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(500, 3)); X[::7, 1] = np.nan
>>> y = (X[:, 0] + rng.normal(size=500) > 0).astype(int)
>>> booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
...                     xgb.DMatrix(X, label=y), num_boost_round=20)
>>> forest = CompiledForest.from_booster(booster)
>>> phi = forest.contributions(X[:4])
>>> theirs = booster.predict(xgb.DMatrix(X[:4]), pred_contribs=True)
>>> bool(np.allclose(phi, theirs, atol=1e-5)), bool(np.allclose(phi.sum(axis=1),
...                                                             forest.margin(X[:4])))
(True, True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from techcredit.exceptions import ModelError
from techcredit.features._jit import kernel, kernel_array

__all__ = ["CompiledForest"]

_TABLE_MAX_DEPTH = 5
"""Deepest trees given per-leaf tables: a leaf ``d`` splits deep holds ``d * 2**d``
numbers (160 at depth 5; 384 at 6, where a 300-tree forest would need about 60 MB)."""
_PROBE_ROWS = 64
"""Probe rows on which a compiled forest must reproduce XGBoost's own margins."""
_AGREEMENT = 1e-4
"""Difference from XGBoost's float32 margins and contributions always accepted on a probe;
XGBoost's own rounding, up to ``trees * 2**-24 * (1 + |margin|)`` (float32 sums of the
leaves), is accepted on top, so a forest of thousands of trees is not refused for it."""


@dataclass(frozen=True, eq=False)
class CompiledForest:
    """The trees of a binary ``gbtree`` booster as flat node arrays.

    Node ``i`` of the forest is a leaf when ``left[i] < 0``; otherwise a row goes to
    ``left[i]`` when ``float32(x[feature[i]]) < threshold[i]``, to ``right[i]`` when
    not, and to the default child when the value is NaN.

    Attributes
    ----------
    left, right : ndarray of int64
        Children (forest node numbers; -1 at a leaf).
    feature : ndarray of int64
        Split feature (column of the row); -1 at a leaf.
    threshold : ndarray of float32
        Split threshold.
    default_left : ndarray of bool
        A missing value goes left.
    value : ndarray of float64
        Leaf value (log-odds) at a leaf.
    cover : ndarray of float64
        Sum of the training hessians reaching the node (TreeSHAP's weights).
    roots : ndarray of int64
        First node of each tree.
    mean_total : float
        The trees' expected values (leaves averaged with their covers) summed: with
        ``base_margin``, the bias of every row's contributions.
    base_margin : float
        The booster's base score as log-odds.
    n_features : int
    max_depth : int
        Edges on the longest root-to-leaf path of any tree.
    paths : LeafPaths or None
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    value: np.ndarray
    cover: np.ndarray
    roots: np.ndarray
    mean_total: float
    base_margin: float
    n_features: int
    max_depth: int
    paths: LeafPaths | None = None
    """Per-leaf contribution tables (trees up to :data:`_TABLE_MAX_DEPTH` deep), else
    ``None`` and the contributions walk the tree paths (TreeSHAP's own recursion)."""

    @classmethod
    def from_booster(cls, booster: xgb.Booster) -> CompiledForest:
        """Compile ``booster`` (binary ``gbtree``, numeric splits) and check it.

        Raises
        ------
        ModelError
            For a model this class cannot reproduce (another booster or objective,
            several targets, categorical splits), or when its margins or
            contributions on the probe rows differ from XGBoost's own.
        """
        doc = json.loads(booster.save_raw(raw_format="json"))
        learner = doc["learner"]
        gbm = learner["gradient_booster"]
        objective = learner["objective"]["name"]
        if gbm.get("name") != "gbtree" or objective != "binary:logistic":
            raise ModelError(f"compiled forest supports binary:logistic gbtree boosters, "
                             f"got {objective} {gbm.get('name')}")
        params = learner["learner_model_param"]
        if int(params.get("num_class", 0)) > 1 or int(params.get("num_target", 1)) > 1:
            raise ModelError("compiled forest supports one target, got "
                             f"{params.get('num_class')} classes, "
                             f"{params.get('num_target')} targets")
        trees = gbm["model"]["trees"]
        if not trees:
            raise ModelError("compiled forest needs at least one tree; the booster has none")
        if any(t["split_type"] and max(t["split_type"]) != 0 for t in trees):
            raise ModelError("compiled forest supports numeric splits only; this booster "
                             "has categorical ones")
        forest = cls._from_trees(trees, _base_margin(params["base_score"]),
                                 int(params["num_feature"]))
        forest._check_against(booster)
        return forest

    @classmethod
    def _from_trees(cls, trees: list[dict], base_margin: float, n_features: int, *,
                    tables: bool = True) -> CompiledForest:
        """The forest of XGBoost's JSON ``trees`` (at least one); ``tables=False`` skips
        the leaf tables (the contributions then take the path walk, whatever the depth)."""
        sizes = np.array([len(t["left_children"]) for t in trees], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)

        def joined(key: str, dtype: type) -> np.ndarray:
            return np.concatenate([np.asarray(t[key], dtype=dtype) for t in trees])

        offset = np.repeat(starts, sizes)
        left, right = joined("left_children", np.int64), joined("right_children", np.int64)
        leaf = left < 0
        left = np.where(leaf, -1, left + offset)
        right = np.where(leaf, -1, right + offset)
        conditions = joined("split_conditions", np.float64)
        feature = np.where(leaf, -1, joined("split_indices", np.int64))
        cover = joined("sum_hessian", np.float64)
        value = np.where(leaf, conditions, 0.0)
        means = np.empty(left.size)
        depth = int(_subtree_means(starts, left, right, value, cover, means))
        return cls(left=left, right=right, feature=feature,
                   threshold=conditions.astype(np.float32),
                   default_left=joined("default_left", np.int64).astype(bool), value=value,
                   cover=cover, roots=starts, mean_total=float(means[starts].sum()),
                   base_margin=base_margin, n_features=n_features, max_depth=depth,
                   paths=(LeafPaths.of(starts, left, right, feature, value, cover)
                          if depth <= _TABLE_MAX_DEPTH and tables else None))

    # ------------------------------------------------------------------ scoring
    def margin(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of each row of ``x`` ``(rows, n_features)``, float64.

        Examples
        --------
        >>> forest = CompiledForest._from_trees([{"left_children": [1, -1, -1],
        ...     "right_children": [2, -1, -1], "split_indices": [0, 0, 0],
        ...     "split_conditions": [0.5, -1.0, 2.0], "sum_hessian": [4.0, 1.0, 3.0],
        ...     "default_left": [1, 0, 0]}], base_margin=0.25, n_features=1)
        >>> forest.margin(np.array([[0.0], [0.5], [np.nan]])).tolist()
        [-0.75, 2.25, -0.75]
        >>> forest.contributions(np.array([[0.0]])).tolist()  # mean leaf 1.25, + 0.25
        [[-2.25, 1.5]]
        """
        rows = self._rows(x)
        out = np.empty(rows.shape[0])
        _margins(rows, self.left, self.right, self.feature, self.threshold,
                 self.default_left, self.value, self.roots, self.base_margin, out)
        return out

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions ``(rows, n_features + 1)`` of ``x``, bias last."""
        rows = self._rows(x)
        out = np.zeros((rows.shape[0], self.n_features + 1))
        p = self.paths
        if p is not None:
            _table_contributions(rows, self.left, self.right, self.feature, self.threshold,
                                 self.default_left, self.roots, p.node_slot, p.node_leaf,
                                 p.feat_start, p.feats, p.table_start, p.table,
                                 self.mean_total, self.base_margin, out)
            return out
        _contributions(rows, self.left, self.right, self.feature, self.threshold,
                       self.default_left, self.value, self.cover, self.roots,
                       self.mean_total, self.base_margin, self.max_depth, out)
        return out

    def _rows(self, x: np.ndarray) -> np.ndarray:
        rows = kernel_array(x)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ModelError(f"compiled forest expects rows of {self.n_features} features, "
                             f"got shape {rows.shape}")
        return rows

    def _check_against(self, booster: xgb.Booster) -> None:
        """Raise unless margins and contributions match XGBoost's on probe rows."""
        probe = _probe_rows(self)
        matrix = xgb.DMatrix(probe, nthread=1)
        theirs = booster.predict(matrix, output_margin=True, validate_features=False)
        their_phi = booster.predict(matrix, pred_contribs=True, validate_features=False)
        gap = max(float(np.max(np.abs(self.margin(probe) - theirs), initial=0.0)),
                  float(np.max(np.abs(self.contributions(probe) - their_phi), initial=0.0)))
        rounding = self.roots.size * 2.0**-24 * (1.0 + float(np.max(np.abs(theirs),
                                                                    initial=0.0)))
        if not gap <= _AGREEMENT + rounding:
            raise ModelError(f"compiled forest differs from XGBoost by {gap:.3g} on probe "
                             "rows; this booster is not supported")

    def warm_up(self) -> None:
        """Compile (or load) both kernels for the serving signature."""
        row = np.zeros((1, self.n_features))
        self.margin(row)
        self.contributions(row)


@dataclass(frozen=True, eq=False)
class LeafPaths:
    """Every leaf's root path and its TreeSHAP contributions, tabulated.

    A leaf's contribution to the features on its path depends on the row only through
    which of those features' splits the row follows ("one fractions" of 0 or 1), so
    for each of the ``2**d`` patterns of its ``d`` distinct path features the ``d``
    contributions are computed once, here (the tabulation of Yang, 2021, "Fast
    TreeSHAP", v2). A row then only finds each leaf's pattern and adds ``d`` numbers.

    Attributes
    ----------
    node_slot : ndarray of int8
        Per forest node: the position of its split feature among the distinct features of
        the path from its root to it (the same for every leaf below it); -1 at a leaf.
    node_leaf : ndarray of int32
        Per forest node: its leaf number ``k`` (leaves numbered tree by tree, left
        first); -1 at a split.
    feat_start, feats : ndarray of int32
        Leaf ``k``'s distinct features are ``feats[feat_start[k]:feat_start[k + 1]]``.
    table_start, table : ndarray
        Leaf ``k``'s contributions for pattern ``m`` (bit ``j``: the row follows every
        split on feature ``j``) start at ``table_start[k] + m * d``.
    """

    node_slot: np.ndarray
    node_leaf: np.ndarray
    feat_start: np.ndarray
    feats: np.ndarray
    table_start: np.ndarray
    table: np.ndarray

    @classmethod
    def of(cls, roots: np.ndarray, left: np.ndarray, right: np.ndarray, feature: np.ndarray,
           value: np.ndarray, cover: np.ndarray) -> LeafPaths:
        """Walk every tree of the forest arrays and tabulate its leaves."""
        # narrow integers: the scoring walk reads every node of the forest on each row
        node_slot = np.full(left.size, -1, dtype=np.int8)
        node_leaf = np.full(left.size, -1, dtype=np.int32)
        feat_start, feats, zeros, leaf_value = [0], [], [], []
        for root in roots.tolist():
            stack: list[tuple[int, tuple[tuple[int, bool], ...]]] = [(root, ())]
            while stack:
                node, path = stack.pop()
                if left[node] >= 0:
                    stack.append((int(right[node]), (*path, (node, False))))
                    stack.append((int(left[node]), (*path, (node, True))))
                    continue
                distinct: list[int] = []
                zero: list[float] = []
                for depth, (parent, _) in enumerate(path):
                    f = int(feature[parent])
                    if f not in distinct:
                        distinct.append(f)
                        zero.append(1.0)
                    slot = distinct.index(f)
                    child = path[depth + 1][0] if depth + 1 < len(path) else node
                    zero[slot] *= cover[child] / cover[parent]
                    node_slot[parent] = slot  # a prefix of the path: one slot per node
                node_leaf[node] = len(leaf_value)
                feats.extend(distinct)
                zeros.extend(zero)
                feat_start.append(len(feats))
                leaf_value.append(float(value[node]))
        feat_start_a = np.array(feat_start, dtype=np.int32)
        d = np.diff(feat_start_a)
        table_start = np.concatenate(([0], np.cumsum(d.astype(np.int64) << d))).astype(np.int64)
        table = np.empty(int(table_start[-1]))
        _tabulate(feat_start_a, np.array(zeros, dtype=np.float64),
                  np.array(leaf_value, dtype=np.float64), table_start, table)
        return cls(node_slot=node_slot, node_leaf=node_leaf, feat_start=feat_start_a,
                   feats=np.array(feats, dtype=np.int32), table_start=table_start,
                   table=table)


def _base_margin(text: str) -> float:
    """The base score of ``learner_model_param`` (a probability) as log-odds.

    Examples
    --------
    >>> round(_base_margin("[5E-1]"), 12), round(_base_margin("2.5E-1"), 6)
    (0.0, -1.098612)
    """
    p = float(np.float32(str(text).strip("[]").split(",")[0]))
    if not 0.0 < p < 1.0:
        raise ModelError(f"base_score {text!r} is not a probability")
    return float(np.log(p) - np.log1p(-p))


def _probe_rows(forest: CompiledForest) -> np.ndarray:
    """Rows that cross the thresholds: each feature at, just below and above a split
    value of its own, or missing; deterministic."""
    rng = np.random.default_rng(0)
    probe = np.full((_PROBE_ROWS, forest.n_features), np.nan)
    split = forest.feature >= 0
    for f in range(forest.n_features):
        cuts = forest.threshold[split & (forest.feature == f)].astype(np.float64)
        if cuts.size == 0:
            continue
        picked = cuts[rng.integers(0, cuts.size, _PROBE_ROWS)]
        nudge = rng.choice(np.array([-1.0, 0.0, 1.0]), _PROBE_ROWS) * 1e-3 * (1 + np.abs(picked))
        probe[:, f] = np.where(rng.random(_PROBE_ROWS) < 0.1, np.nan, picked + nudge)
    return probe


# ---------------------------------------------------------------------- kernels
@kernel
def _subtree_means(roots: np.ndarray, left: np.ndarray, right: np.ndarray,
                   value: np.ndarray, cover: np.ndarray, means: np.ndarray) -> int:
    """Fill ``means`` (each node's cover-weighted mean leaf); return the deepest path."""
    deepest = 0
    stack = np.empty(2 * left.size + 1, dtype=np.int64)
    depth = np.zeros(left.size, dtype=np.int64)
    order = np.empty(left.size, dtype=np.int64)
    for t in range(roots.size):
        top, seen = 0, 0
        stack[0] = roots[t]
        depth[roots[t]] = 0
        while top >= 0:  # preorder: a node before its children
            node = stack[top]
            top -= 1
            order[seen] = node
            seen += 1
            deepest = max(deepest, depth[node])
            if left[node] >= 0:
                for child in (left[node], right[node]):
                    depth[child] = depth[node] + 1
                    top += 1
                    stack[top] = child
        for k in range(seen - 1, -1, -1):  # children before their parent
            node = order[k]
            if left[node] < 0:
                means[node] = value[node]
            else:
                a, b = left[node], right[node]
                means[node] = (means[a] * cover[a] + means[b] * cover[b]) / cover[node]
    return deepest


@kernel
def _next(node: int, x: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
          default_left: np.ndarray, left: np.ndarray, right: np.ndarray) -> int:
    v = x[feature[node]]
    if np.isnan(v):
        return left[node] if default_left[node] else right[node]
    return left[node] if np.float32(v) < threshold[node] else right[node]


@kernel
def _margins(x: np.ndarray, left: np.ndarray, right: np.ndarray, feature: np.ndarray,
             threshold: np.ndarray, default_left: np.ndarray, value: np.ndarray,
             roots: np.ndarray, base_margin: float, out: np.ndarray) -> None:
    for r in range(x.shape[0]):
        total = base_margin
        for t in range(roots.size):
            node = roots[t]
            while left[node] >= 0:
                node = _next(node, x[r], feature, threshold, default_left, left, right)
            total += value[node]
        out[r] = total


@kernel
def _extend(pf: np.ndarray, pz: np.ndarray, po: np.ndarray, pw: np.ndarray, start: int,
            depth: int, zero: float, one: float, feat: int) -> None:
    """Add feature ``feat`` (fractions ``zero``, ``one``) as element ``depth`` of the path
    at ``start``, updating every element's permutation weight."""
    pf[start + depth], pz[start + depth], po[start + depth] = feat, zero, one
    pw[start + depth] = 1.0 if depth == 0 else 0.0
    for i in range(depth - 1, -1, -1):
        pw[start + i + 1] += one * pw[start + i] * (i + 1) / (depth + 1)
        pw[start + i] = zero * pw[start + i] * (depth - i) / (depth + 1)


@kernel
def _unwind(pf: np.ndarray, pz: np.ndarray, po: np.ndarray, pw: np.ndarray, start: int,
            depth: int, index: int) -> None:
    """Remove element ``index`` from the path at ``start`` (the inverse of _extend)."""
    one, zero = po[start + index], pz[start + index]
    next_one = pw[start + depth]
    for i in range(depth - 1, -1, -1):
        if one != 0.0:
            held = pw[start + i]
            pw[start + i] = next_one * (depth + 1) / ((i + 1) * one)
            next_one = held - pw[start + i] * zero * (depth - i) / (depth + 1)
        else:
            pw[start + i] = pw[start + i] * (depth + 1) / (zero * (depth - i))
    for i in range(index, depth):
        pf[start + i], pz[start + i], po[start + i] = (pf[start + i + 1], pz[start + i + 1],
                                                       po[start + i + 1])


@kernel
def _unwound_sum(pz: np.ndarray, po: np.ndarray, pw: np.ndarray, start: int, depth: int,
                 index: int) -> float:
    """Total permutation weight of the path at ``start`` with element ``index`` removed."""
    one, zero = po[start + index], pz[start + index]
    next_one = pw[start + depth]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one != 0.0:
            part = next_one * (depth + 1) / ((i + 1) * one)
            total += part
            next_one = pw[start + i] - part * zero * ((depth - i) / (depth + 1))
        elif zero != 0.0:
            total += (pw[start + i] / zero) / ((depth - i) / (depth + 1))
    return total


@kernel
def _contributions(x: np.ndarray, left: np.ndarray, right: np.ndarray, feature: np.ndarray,
                   threshold: np.ndarray, default_left: np.ndarray, value: np.ndarray,
                   cover: np.ndarray, roots: np.ndarray, mean_total: float,
                   base_margin: float, max_depth: int, out: np.ndarray) -> None:
    """TreeSHAP of every row into ``out`` (zeroed, bias last).

    Algorithm 2 of Lundberg et al. with an explicit stack in place of the recursion: a
    node's path (its unique features with their zero/one fractions and permutation
    weights) is copied from its parent's before being extended, so the children of a
    node, taken one after the other, both start from the parent's path.
    """
    room = (max_depth + 2) * (max_depth + 3)
    pf = np.empty(room, dtype=np.int64)
    pz, po, pw = np.empty(room), np.empty(room), np.empty(room)
    slots = 2 * max_depth + 4
    s_node = np.empty(slots, dtype=np.int64)
    s_depth = np.empty(slots, dtype=np.int64)
    s_parent = np.empty(slots, dtype=np.int64)
    s_start = np.empty(slots, dtype=np.int64)
    s_feat = np.empty(slots, dtype=np.int64)
    s_zero, s_one = np.empty(slots), np.empty(slots)
    bias = out.shape[1] - 1
    for r in range(x.shape[0]):
        row = x[r]
        phi = out[r]
        for t in range(roots.size):
            top = 0
            s_node[0], s_depth[0], s_parent[0], s_start[0] = roots[t], 0, 0, 0
            s_zero[0], s_one[0], s_feat[0] = 1.0, 1.0, -1
            while top >= 0:
                node, depth, parent, start = s_node[top], s_depth[top], s_parent[top], \
                    s_start[top]
                zero, one, feat = s_zero[top], s_one[top], s_feat[top]
                top -= 1
                for i in range(depth):
                    pf[start + i], pz[start + i] = pf[parent + i], pz[parent + i]
                    po[start + i], pw[start + i] = po[parent + i], pw[parent + i]
                _extend(pf, pz, po, pw, start, depth, zero, one, feat)
                if left[node] < 0:
                    for i in range(1, depth + 1):
                        w = _unwound_sum(pz, po, pw, start, depth, i)
                        phi[pf[start + i]] += w * (po[start + i] - pz[start + i]) * value[node]
                    continue
                hot = _next(node, row, feature, threshold, default_left, left, right)
                cold = right[node] if hot == left[node] else left[node]
                incoming_zero, incoming_one = 1.0, 1.0
                split = feature[node]
                child_start = start + depth + 1
                for k in range(depth + 1):
                    if pf[start + k] == split:
                        incoming_zero, incoming_one = pz[start + k], po[start + k]
                        _unwind(pf, pz, po, pw, start, depth, k)
                        depth -= 1
                        break
                for child, child_one in ((cold, 0.0), (hot, 1.0)):
                    top += 1  # the hot child goes last, so it is taken first
                    s_node[top], s_depth[top], s_parent[top] = child, depth + 1, start
                    s_start[top], s_feat[top] = child_start, split
                    s_zero[top] = cover[child] / cover[node] * incoming_zero
                    s_one[top] = incoming_one * child_one
        phi[bias] += mean_total + base_margin


@kernel
def _tabulate(feat_start: np.ndarray, zeros: np.ndarray, leaf_value: np.ndarray,
              table_start: np.ndarray, table: np.ndarray) -> None:
    """Each leaf's contribution to each of its ``d`` path features, per pattern ``m``.

    With zero fractions ``z`` and the pattern's one fractions ``o`` (bits of ``m``),
    feature ``i`` gets ``v (o_i - z_i) sum_S |S|! (d - |S| - 1)! / d! prod_{j not in S,
    j != i} z_j`` over the sets ``S`` of the other features the row follows (SHAP's
    weights over the coalitions that can reach the leaf).
    """
    factorial = np.ones(32)
    for k in range(1, 32):
        factorial[k] = factorial[k - 1] * k
    for leaf in range(feat_start.size - 1):
        lo = feat_start[leaf]
        d = feat_start[leaf + 1] - lo
        for m in range(1 << d):
            for i in range(d):
                others = m & ~(1 << i)
                total = 0.0
                for sub in range(1 << d):
                    if sub & ~others or sub >> i & 1:
                        continue
                    size, product = 0, 1.0
                    for j in range(d):
                        if j == i:
                            continue
                        if sub >> j & 1:
                            size += 1
                        else:
                            product *= zeros[lo + j]
                    total += factorial[size] * factorial[d - size - 1] / factorial[d] * product
                one = 1.0 if m >> i & 1 else 0.0
                table[table_start[leaf] + m * d + i] = (leaf_value[leaf]
                                                         * (one - zeros[lo + i]) * total)


@kernel
def _table_contributions(x: np.ndarray, left: np.ndarray, right: np.ndarray,
                         feature: np.ndarray, threshold: np.ndarray, default_left: np.ndarray,
                         roots: np.ndarray, node_slot: np.ndarray, node_leaf: np.ndarray,
                         feat_start: np.ndarray, feats: np.ndarray, table_start: np.ndarray,
                         table: np.ndarray, mean_total: float, base_margin: float,
                         out: np.ndarray) -> None:
    """TreeSHAP of every row into ``out`` (zeroed, bias last) from the leaf tables.

    Each tree is walked depth first, left first (the leaves' own order, so the sums run
    in one fixed order), carrying the leaf pattern ``m``: a split the row does not follow
    clears its feature's bit in the subtree on the other side.
    """
    nodes = np.empty(64, dtype=np.int64)  # the walk's stack: at most depth + 1 entries
    patterns = np.empty(64, dtype=np.int64)
    bias = out.shape[1] - 1
    for r in range(x.shape[0]):
        row = x[r]
        phi = out[r]
        for t in range(roots.size):
            nodes[0], patterns[0], top = roots[t], -1, 1
            while top > 0:
                top -= 1
                node, m = nodes[top], patterns[top]
                if left[node] >= 0:
                    cleared = m & ~(1 << node_slot[node])
                    to_left = _next(node, row, feature, threshold, default_left, left,
                                    right) == left[node]
                    nodes[top], patterns[top] = right[node], cleared if to_left else m
                    nodes[top + 1], patterns[top + 1] = left[node], m if to_left else cleared
                    top += 2
                    continue
                leaf = node_leaf[node]
                lo = feat_start[leaf]
                d = feat_start[leaf + 1] - lo
                base = table_start[leaf] + (m & ((1 << d) - 1)) * d
                for i in range(d):
                    phi[feats[lo + i]] += table[base + i]
        phi[bias] += mean_total + base_margin
