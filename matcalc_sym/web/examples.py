"""The gallery's derivations, one click away on the page (`GET /api/examples`).

The same entries as `docs/build.py`'s PAGES (the gallery pages are built from
those; docs/ is not installed with the package, so the list lives here too,
and tests/test_web.py fails if the two drift apart).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Example:
    page: str
    sentence: str
    text: str
    wrt: str | None = None
    shapes: dict = field(default_factory=dict)


GALLERY: tuple[Example, ...] = (
    Example('Scalar chain rules', 'The smallest nesting: a square inside a sine, one path from x to y.',
            'sin(x**2)', None, {}),
    Example('Scalar chain rules', 'Four levels deep, still one path, so four local derivatives multiply.',
            'log(sin(x**3)**2)', None, {}),
    Example('Scalar chain rules', 'x feeds the sum twice, directly and through the square: two paths, two terms.',
            'x + x**2', None, {}),
    Example('Scalar chain rules', 'The two paths meet inside a sine; the total derivative of the inner sum is reused.',
            'sin(x + x**2)', None, {}),
    Example('Scalar chain rules', 'A product of x with its own square: the total-derivative formula still adds partials.',
            'x * x**2', None, {}),
    Example('Scalar chain rules', 'A constant factor outside the two paths.',
            '9*(x + x**2)', None, {}),
    Example('Partial derivatives, gradients and Jacobians', 'A gradient of a scalar function of x and y.',
            '3*x**2*y', 'x,y', {}),
    Example('Partial derivatives, gradients and Jacobians', 'A Jacobian of two functions of x and y.',
            '[3*x**2*y, 2*x + y**8]', 'x,y', {}),
    Example('Partial derivatives, gradients and Jacobians', 'A vector of functions of one scalar: the vector chain rule with a diagonal outer Jacobian.',
            '[log(x**2), sin(3*x)]', 'x', {}),
    Example('Element-wise operations and the diagonal condition', 'Addition: the identity.',
            'w + x', 'w', {'w': 'n', 'x': 'n'}),
    Example('Element-wise operations and the diagonal condition', 'Subtraction, by the second operand: minus the identity.',
            'w - x', 'x', {'w': 'n', 'x': 'n'}),
    Example('Element-wise operations and the diagonal condition', 'The element-wise product: diag of the other operand.',
            'w*x', 'w', {'w': 'n', 'x': 'n'}),
    Example('Element-wise operations and the diagonal condition', 'The element-wise quotient, by the denominator.',
            'w/x', 'x', {'w': 'n', 'x': 'n'}),
    Example('Scalar expansion and reductions', 'Scalar expansion, by the vector.',
            'x + z', 'x', {'x': 'n'}),
    Example('Scalar expansion and reductions', 'Scalar expansion, by the scalar: a column of ones.',
            'x + z', 'z', {'x': 'n'}),
    Example('Scalar expansion and reductions', 'A scaled vector, by the vector: z·I.',
            'x*z', 'x', {'x': 'n'}),
    Example('Scalar expansion and reductions', 'A scaled vector, by the scalar: the vector itself.',
            'x*z', 'z', {'x': 'n'}),
    Example('Scalar expansion and reductions', 'The sum of a vector: 𝟙ᵀ.',
            'sum(x)', 'x', {'x': 'n'}),
    Example('Scalar expansion and reductions', 'The sum of a scaled vector, by the vector.',
            'sum(x*z)', 'x', {'x': 'n'}),
    Example('Scalar expansion and reductions', 'The sum of a scaled vector, by the scalar.',
            'sum(x*z)', 'z', {'x': 'n'}),
    Example('Scalar expansion and reductions', 'The dot product, through u = w ⊙ x and y = sum(u).',
            'dot(w, x)', 'w', {'w': 'n', 'x': 'n'}),
    Example('A neuron and its loss', 'The activation, by the weights.',
            'max(0, dot(w, x) + b)', 'w', {'w': 'n', 'x': 'n'}),
    Example('A neuron and its loss', 'The activation, by the bias.',
            'max(0, dot(w, x) + b)', 'b', {'w': 'n', 'x': 'n'}),
    Example('A neuron and its loss', 'The loss over N samples, by the weights.',
            'mean((y - max(0, X@w + b))**2)', 'w', {'X': 'N,n', 'y': 'N', 'w': 'n'}),
    Example('A neuron and its loss', 'The loss over N samples, by the bias.',
            'mean((y - max(0, X@w + b))**2)', 'b', {'X': 'N,n', 'y': 'N', 'w': 'n'}),
    Example('Matrix-valued functions and backprop', 'An RNN cell over a minibatch, by the input weights: the upstream gradient ∂J/∂c stands in for the loss.',
            'c = tanh(Wc@cp + Wx@x + b)', 'Wx', {'Wc': 'nc,nc', 'cp': 'nc,m', 'Wx': 'nc,nx', 'x': 'nx,m', 'b': 'nc,1'}),
    Example('Matrix-valued functions and backprop', 'The same cell, by the bias that broadcasts across the minibatch.',
            'c = tanh(Wc@cp + Wx@x + b)', 'b', {'Wc': 'nc,nc', 'cp': 'nc,m', 'Wx': 'nc,nx', 'x': 'nx,m', 'b': 'nc,1'}),
    Example('Matrix-valued functions and backprop', 'A two-layer tanh network with a squared-error loss, by all four parameters.',
            'Zh = X@Wh.T + bh; Ah = tanh(Zh); Zo = Ah@Wout.T + bout; Ao = tanh(Zo); L = sum((Ao - Y)**2)/(3*n)', 'Wout, bout, Wh, bh', {'X': 'n,3', 'Wh': '5,3', 'bh': '5', 'Wout': '3,5', 'bout': '3', 'Y': 'n,3'}),
)


def examples_document() -> list[dict]:
    """The gallery as JSON: page title, sentence, text, wrt and shapes of every entry."""
    return [asdict(example) for example in GALLERY]
