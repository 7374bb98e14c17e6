"""The `simplify` stage: a readable final form, within a budget.

SymPy's `simplify` takes from a fraction of a second to many seconds on
derivatives of similar size, so it only runs on small expressions; larger ones
get cheap rewrites, and the shortest candidate wins.
"""

from __future__ import annotations

import sympy

#: count_ops above which only cheap rewrites are tried
CHEAP_ONLY = 60
#: count_ops above which nothing is tried (no global rewrite of a large tree)
UNTOUCHED = 400
#: tree nodes above which `expand` and `cancel` are not tried: they can multiply out
#: a product of sums into thousands of terms, seconds of work for a longer answer
EXPANDABLE = 150
#: total degree of powers of sums above which `cancel` and `simplify` are not tried: both multiply
#: polynomials out, and (x+1)**1000*(x-1)**1000 kept `cancel` busy for minutes in a small tree
CANCELLABLE_DEGREE = 64


def tree_size(expr: sympy.Basic, limit: int) -> int:
    """Nodes of `expr` as a tree, counting stops just past `limit` (so at most linear in `limit`).

    `count_ops` and `str` walk the whole tree however large it is; this bound
    decides first whether a rewrite is worth trying at all. A plain stack over
    `.args`: the renderers ask this of every expression they print.
    """
    count = 0
    stack = [expr]
    while stack and count <= limit:
        node = stack.pop()
        count += 1
        stack.extend(getattr(node, "args", ()))
    return count


def _cost(expr: sympy.Basic) -> tuple[int, int]:
    if tree_size(expr, 4 * UNTOUCHED) > 4 * UNTOUCHED:  # a rewrite that blew up: never the shortest
        return (10**9, 10**9)
    return (sympy.count_ops(expr), len(str(expr)))


def readable(expr: sympy.Basic) -> sympy.Basic:
    """The shortest of a few equivalent forms of `expr`."""
    if isinstance(expr, sympy.MatrixBase):
        return expr.applyfunc(readable)
    if _is_array_expression(expr):
        return readable_array(expr)
    nodes = tree_size(expr, 2 * UNTOUCHED)
    if nodes > 2 * UNTOUCHED:
        return expr
    size = sympy.count_ops(expr)
    if size > UNTOUCHED:
        return expr
    small = nodes <= EXPANDABLE
    low_degree = _power_degree(expr) <= CANCELLABLE_DEGREE
    rewrites = [sympy.factor_terms, sympy.cancel] if small and low_degree else [sympy.factor_terms]
    if expr.has(sympy.Piecewise):
        rewrites = [lambda e: relu_on_active_branch(sympy.piecewise_fold(e)), sympy.factor_terms]
    if small and not _has_large_power(expr):
        rewrites.append(sympy.expand)
    if size <= CHEAP_ONLY and low_degree:
        rewrites.append(sympy.simplify)
    candidates = [expr]
    for rewrite in rewrites:
        try:
            candidates.append(rewrite(expr))
        except (TypeError, ValueError, AttributeError, NotImplementedError):
            continue  # a rewrite that does not apply to this expression
    allowed = _functions(expr)
    candidates = [c for c in candidates if _functions(c) <= allowed]
    best = min(candidates, key=_cost)
    return best if _cost(best) < _cost(expr) else expr


def _functions(expr: sympy.Basic) -> set[type]:
    """Function classes in `expr`: a rewrite must not bring in new ones (sin/cos → tan)."""
    return {type(f) for f in expr.atoms(sympy.Function)}


def _power_degree(expr: sympy.Basic) -> int:
    """The degrees of all integer powers of sums, added: what multiplying the polynomials out would reach."""
    return sum(abs(int(p.exp)) for p in expr.atoms(sympy.Pow) if p.exp.is_Integer and p.base.is_Add)


def _has_large_power(expr: sympy.Basic) -> bool:
    return any(p.exp.is_Integer and abs(p.exp) > 6 and p.base.is_Add for p in expr.atoms(sympy.Pow))


def _is_array_expression(expr) -> bool:
    from .arrays import Elem, ReduceSum

    return isinstance(expr, sympy.MatrixExpr) or any(
        isinstance(e, (Elem, ReduceSum, sympy.MatrixExpr)) for e in sympy.preorder_traversal(expr))


def readable_array(expr: sympy.Basic) -> sympy.Basic:
    """Array results: simplify each element-wise body, and pull a scalar case split out front.

    SymPy's own simplify recurses without end on matrix expressions, so it
    never sees them: only the scalar bodies of `Elementwise` arrays are
    simplified, and c·M with c piecewise becomes a piecewise matrix — only
    when c's conditions read no array element (one condition for all of M).
    """
    from .algebra import join, split, textbook_form
    from .arrays import Elementwise, has_free_element

    def body(e):
        return Elementwise(_simplify_body(e.body), *e.shape)

    from .arrays import flatten_elements

    expr = flatten_elements(expr)
    expr = expr.replace(lambda e: isinstance(e, Elementwise), body)
    expr = _scalars_out(expr)
    expr = _scalars_out(flatten_elements(expr))
    expr = textbook_form(_collect_coefficients(textbook_form(_fewer_transposes(expr))))
    expr = _negated_sums(expr)
    coefficient, core = split(expr)
    if core is not None and isinstance(coefficient, sympy.Piecewise) and not has_free_element(coefficient):
        return sympy.Piecewise(*[(join(value, core), condition) for value, condition in coefficient.args])
    pieces = _whole_cases(core)
    if pieces is not None:
        return sympy.Piecewise(*[(join(coefficient, value), condition) for value, condition in pieces])
    return expr


def _whole_cases(core) -> list | None:
    """The pieces of an element-wise body (or its transpose) split on conditions that read no element.

    Such a split decides the whole array at once (x for b + w·x > 0, else 0),
    so it reads as one case split of arrays, as forward mode writes it; a
    condition with an element in it stays inside the body, as a mask.
    """
    from .algebra import transpose
    from .arrays import Elementwise, has_free_element

    transposed = isinstance(core, sympy.Transpose)
    inner = core.arg if transposed else core
    if not isinstance(inner, Elementwise) or not isinstance(inner.body, sympy.Piecewise) \
            or any(has_free_element(condition) for _, condition in inner.body.args):
        return None
    pieces = []
    for value, condition in inner.body.args:
        array = Elementwise(value, *inner.shape)
        pieces.append((transpose(array) if transposed else array, condition))
    return pieces


def _simplify_body(body: sympy.Basic) -> sympy.Basic:
    from .arrays import Elem

    try:
        if body.has(sympy.Piecewise):
            body = _fold_cases(body)
        if any(isinstance(e, sympy.MatrixExpr) and not isinstance(e, sympy.MatrixSymbol)
               for a in body.atoms(Elem) for e in sympy.preorder_traversal(a.array)):
            # SymPy's scalar rewrites do not all accept matrix sums inside an element: only hidden ones
            return _much_shorter(body, body)
        return _much_shorter(body, readable(body))
    except (TypeError, ValueError, AttributeError):  # a rewrite SymPy cannot do here: keep the body
        return body


def _much_shorter(body: sympy.Basic, kept: sympy.Basic) -> sympy.Basic:
    """The body simplified as scalar algebra over its elements, when that at least halves it.

    Each element (and each number made of whole arrays) is one real unknown
    there, so σ(z)(1 − σ(z))·(−y/σ(z) + (1 − y)/(1 − σ(z))) becomes σ(z) − y.
    A rewrite that only shuffles signs or factors is not worth a different
    answer from the one the steps built, so only a large gain is taken.
    """
    from .scoped_fold import opaque_arrays

    hidden, restore = opaque_arrays(body)
    if not restore or not (hidden.is_Add or _divides_by_a_function(hidden)) \
            or tree_size(hidden, EXPANDABLE) > EXPANDABLE or _has_large_power(hidden):
        return kept  # nothing there to cancel: the body stays as the steps built it, at no cost
    candidates = []
    for start in (hidden, _as_sigmoid(hidden)):
        cancelled = sympy.cancel(start) if _power_degree(start) <= CANCELLABLE_DEGREE else start
        candidates += [start, cancelled, sympy.expand(cancelled), sympy.factor_terms(cancelled)]
    simpler = min(candidates, key=_cost)
    if 2 * sympy.count_ops(simpler) > sympy.count_ops(hidden):
        return kept
    return simpler.xreplace(restore)


def _divides_by_a_function(expr: sympy.Basic) -> bool:
    """Whether `expr` divides by a sum or a function (1/σ(z), 1/(1 + e^z)): what a cancellation can remove."""
    return any(p.exp.is_negative and not p.base.is_Symbol and not p.base.is_Number for p in expr.atoms(sympy.Pow))


def _as_sigmoid(expr: sympy.Basic) -> sympy.Basic:
    """e^a/(1 + e^a) and 1/(1 + e^(−a)) written as σ(a), the logistic sigmoid they are (softplus' slope)."""
    from .functions import sigmoid

    def logistic(m):
        for factor in m.args:
            if not (factor.is_Pow and factor.exp == -1 and factor.base.is_Add and len(factor.base.args) == 2
                    and 1 in factor.base.args):
                continue
            (power,) = [t for t in factor.base.args if t != 1]
            if not isinstance(power, sympy.exp):
                continue
            rest = [f for f in m.args if f is not factor]
            if power in rest:
                rest.remove(power)
                return sympy.Mul(sigmoid(power.args[0]), *rest)
            return sympy.Mul(sigmoid(-power.args[0]), *rest)
        return m

    return expr.replace(lambda e: e.is_Mul, logistic)


def _fold_cases(body: sympy.Basic) -> sympy.Basic:
    """One case split for the body's per-element conditions, when that is shorter; never across arrays.

    `piecewise_fold` and max(0, z) → z would otherwise reach into the arrays
    an element reads: in (W·w)ᵢ·gᵢ·𝟙[zᵢ > 0] + (Wᵀ(g ⊙ w ⊙ 𝟙[z > 0]))ᵢ the
    second mask is indexed by the matrix product's own summed index, and
    merging it with the first put one condition on every entry of Wᵀ(…) at
    once (a wrong derivative). So every element and every scalar made from
    whole arrays (sum(w ⊙ x), trace(A)) is an opaque symbol while folding.
    """
    from .scoped_fold import opaque_arrays, sympy_piecewise_fold

    hidden, restore = opaque_arrays(body)
    folded = relu_on_active_branch(sympy_piecewise_fold(hidden)).xreplace(restore)
    return folded if _cost(folded) <= _cost(body) else body


def relu_on_active_branch(expr: sympy.Basic) -> sympy.Basic:
    """max(0, z) is z on the branch whose condition is z > 0 (and 0 where z ≤ 0)."""
    if not isinstance(expr, sympy.Piecewise):
        return expr
    pieces = []
    for value, condition in expr.args:
        if isinstance(condition, sympy.StrictGreaterThan) and condition.rhs == 0:
            value = value.xreplace({sympy.Max(0, condition.lhs): condition.lhs})
        pieces.append((value, condition))
    return sympy.Piecewise(*pieces)


def _scalars_out(expr: sympy.Basic) -> sympy.Basic:
    """c·(a ⊙ b) rather than (c·a) ⊙ b: constant factors of element-wise bodies move to the front."""
    from .arrays import Elementwise, _has_elem

    def pull(e):
        if not isinstance(e.body, sympy.Mul):
            return e
        scalars = [f for f in e.body.args if not _has_elem(f)]
        if not scalars or sympy.Mul(*scalars) == -1:  # a lone sign reads better inside: -w/x²
            return e
        rest = sympy.Mul(*[f for f in e.body.args if _has_elem(f)])
        return sympy.MatMul(sympy.Mul(*scalars), Elementwise(rest, *e.shape))

    expr = expr.replace(lambda e: isinstance(e, Elementwise), pull)
    return _collect_coefficients(expr)


def _collect_coefficients(expr: sympy.Basic) -> sympy.Basic:
    """Scalar factors of products and transposes gathered into one coefficient in front."""
    from .algebra import join, split

    def gather(e):
        if isinstance(e, sympy.Transpose):
            coefficient, core = split(e.arg)
            return join(coefficient, sympy.Transpose(core)) if coefficient != 1 and core is not None else e
        if isinstance(e, sympy.MatMul):
            coefficient, factors = sympy.Integer(1), []
            for factor in e.args:
                c, core = split(_sign_out(factor) if len(e.args) > 1 else factor)
                coefficient *= c
                if core is not None:
                    factors.extend(core.args if isinstance(core, sympy.MatMul) else [core])
            if not factors:
                return coefficient
            if len(factors) > 1:  # A·I = A
                factors = [f for f in factors if not isinstance(f, sympy.Identity)] or factors[:1]
            core = factors[0] if len(factors) == 1 else sympy.MatMul(*factors)
            return join(coefficient, core)
        return e

    return expr.replace(lambda e: isinstance(e, (sympy.Transpose, sympy.MatMul)), gather)


def _negated_sums(expr: sympy.Basic) -> sympy.Basic:
    """−(yᵀ − sum(y)·sᵀ) = sum(y)·sᵀ − yᵀ: a negative number multiplied into a sum of arrays, where
    that leaves fewer minus signs."""
    from .algebra import join, split

    def negatives(terms) -> int:
        return sum(1 for t in terms if split(t)[0].could_extract_minus_sign())

    def distribute(e):
        coefficient, core = split(e)
        if not (coefficient.is_Number and coefficient < 0 and isinstance(core, sympy.MatAdd)):
            return e
        terms = [join(coefficient * c, m) for c, m in map(split, core.args)]
        return sympy.MatAdd(*terms) if negatives(terms) < 1 + negatives(core.args) else e

    return expr.replace(lambda e: isinstance(e, sympy.MatMul), distribute)


def _sign_out(factor):
    """A factor −y of a matrix product as −1·y, so the sign joins the product's coefficient: 𝟙𝟙ᵀ(−Y) = −𝟙𝟙ᵀY."""
    from .arrays import Elementwise

    if isinstance(factor, Elementwise):
        number, rest = factor.body.as_coeff_Mul()
        if number == -1:
            return sympy.MatMul(-1, Elementwise(rest, *factor.shape))
    return factor


def _transposes(expr) -> int:
    return sum(1 for e in sympy.preorder_traversal(expr) if isinstance(e, sympy.Transpose))


def _fewer_transposes(expr: sympy.Basic) -> sympy.Basic:
    """(AB)ᵀ = BᵀAᵀ, (Aᵀ)ᵀ = A: used wherever the result has fewer transposes."""
    from .algebra import join, split

    def expand(e):
        coefficient, core = split(e.arg)
        if not isinstance(core, sympy.MatMul):
            return e
        flipped = sympy.MatMul(*[_transpose_once(f) for f in reversed(core.args)])
        candidate = join(coefficient, flipped)
        return candidate if _transposes(candidate) < _transposes(e) else e

    return expr.replace(lambda e: isinstance(e, sympy.Transpose), expand)


def _transpose_once(factor):
    if isinstance(factor, sympy.Transpose):
        return factor.arg
    from .arrays import Diag, Ones

    if isinstance(factor, Diag):
        return factor
    if isinstance(factor, Ones):
        return Ones(factor.shape[1], factor.shape[0])
    return sympy.Transpose(factor)
