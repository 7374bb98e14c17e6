"""Hostile inputs and the fragment each one's error message must contain.

`{canary}` in a case is replaced by the path of a file that only a successful
injection would create; the tests check that it is still absent afterwards.
"""

DEEP_PARENS = "(" * 10_000 + "x" + ")" * 10_000
DEEP_CALLS = "sin(" * 150 + "x" + ")" * 150
MEGABYTE = "x+" * 500_000 + "x"

#: (id, expression, fragment of the error message)
EXPRESSIONS = [
    # dunder and attribute access: nothing but .T
    ("bases-walk", "().__class__.__bases__[0].__subclasses__()", "only named functions can be called"),
    ("tuple-class", "().__class__", "attribute '.__class__' is not allowed"),
    ("dict-attr", "x.__dict__", "attribute '.__dict__' is not allowed"),
    ("class-attr", "x.__class__", "attribute '.__class__' is not allowed"),
    ("globals-attr", "sin(x).__globals__", "attribute '.__globals__'"),
    ("real-attr", "x.real", "only '.T' (transpose)"),
    ("after-T", "x.T.__class__", "attribute '.__class__'"),
    ("method-call", "x.conjugate()", "only named functions can be called"),
    ("import-call", "__import__('os').system('touch {canary}')", "only named functions can be called"),
    ("import-name", "__import__('os')", "unknown function '__import__'"),
    ("builtins", "__builtins__", "'__builtins__' is not allowed as a name"),
    ("underscore", "_x + 1", "'_x' is not allowed as a name"),
    # statements and syntax outside the language
    ("import", "import os; os.system('touch {canary}')", "import: not part of the input language"),
    ("from-import", "from os import system", "import"),
    ("lambda", "lambda: open('{canary}', 'w')", "lambda: not part of the input language"),
    ("listcomp", "[open('{canary}', 'w') for i in [1]]", "comprehensions"),
    ("setcomp", "{{i for i in [1]}}", "comprehensions"),
    ("dictcomp", "{{i: 1 for i in [1]}}", "comprehensions"),
    ("genexp", "sum(open('{canary}', 'w') for i in [1])", "generator expressions"),
    ("f-string", "f\"{{open('{canary}', 'w')}}\"", "f-strings"),
    ("walrus", "(y := 2)", "walrus"),
    ("subscript", "x[0]", "indexing"),
    ("slice", "x[1:2]", "indexing"),
    ("starred", "sin(*[x])", "starred arguments"),
    ("double-starred", "sin(**{{'x': 1}})", "'**' arguments are not part of the input language"),
    ("keyword", "sin(x=1)", "sin() takes no keyword argument 'x'"),
    ("keyword-not-whitelisted", "sum(x, out=1)", "sum() takes no keyword argument 'out' (it takes axis=, keepdims=)"),
    ("keyword-evaluated", "sum(x, axis=__import__('os'))", "sum(): axis= takes a whole number, True, False or None"),
    ("keyword-expression", "sum(x, axis=1+1)", "sum(): axis= takes a whole number, True, False or None"),
    ("ifexp", "x if x > 0 else 0", "conditional expressions"),
    ("boolop", "x and y", "and/or"),
    ("not", "not x", "operator not is not supported"),
    ("invert", "~x", "operator ~ is not supported"),
    ("modulo", "x % 2", "operator % is not supported"),
    ("floordiv", "x // 2", "operator // is not supported"),
    ("equality", "x == y", "only single comparisons"),
    ("chained-compare", "0 < x < 1", "only single comparisons"),
    ("bare-compare", "x > 0", "only allowed as the condition of where"),
    ("none", "None", "None: not part of the input language"),
    ("true", "True", "True: not part of the input language"),
    ("ellipsis", "...", "not part of the input language"),
    ("complex", "1j*x", "complex numbers"),
    ("chained-assign", "x = y = 1", "only 'name = expression' assignments"),
    ("augassign", "x += 1", "augassign statements"),
    ("del", "del x", "delete statements"),
    ("def", "def f(): pass", "functiondef statements"),
    ("class", "class A: pass", "classdef statements"),
    ("while", "while 1: pass", "while statements"),
    ("async", "async def f(): pass", "asyncfunctiondef statements"),
    ("assign-builtin", "sin = x", "built-in name"),
    ("function-as-variable", "sin + 1", "is a function"),
    ("syntax-warning-if", "1if x else 2", "conditional expressions"),
    ("syntax-warning-call", "1(x)", "only named functions can be called"),
    # calls of names that are not in the rules tables
    ("eval", "eval('open(\"{canary}\", \"w\")')", "unknown function 'eval'"),
    ("exec", "exec('import os')", "unknown function 'exec'"),
    ("open", "open('{canary}', 'w')", "unknown function 'open'"),
    ("getattr", "getattr(x, '__class__')", "unknown function 'getattr'"),
    ("globals", "globals()", "unknown function 'globals'"),
    ("compile", "compile('1', 'f', 'exec')", "unknown function 'compile'"),
    ("breakpoint", "breakpoint()", "unknown function 'breakpoint'"),
    ("near-miss", "sine(x)", "did you mean 'sin'"),
    # literals
    ("string", "'abc'", "strings: not part of the input language"),
    ("bytes", "b'abc'", "bytes: not part of the input language"),
    ("string-operand", "x + 'a'", "strings"),
    # look-alikes, NUL and control characters, blank input
    ("fullwidth-eval", "\uff45\uff56\uff41\uff4c(x)", "non-ASCII character (U+FF45)"),
    ("math-italic-x", "\U0001d465 + 1", "non-ASCII character"),
    ("cyrillic-i", "s\u0456n(x)", "non-ASCII character (U+0456)"),
    ("zero-width", "x\u200b+1", "non-ASCII character (U+200B)"),
    ("rtl-override", "sin(x)\u202e", "non-ASCII character (U+202E)"),
    ("nul", "x\x00+1", "control character (U+0000)"),
    ("escape", "x\x1b[2J", "control character (U+001B)"),
    ("delete-char", "sin(x)\x7f", "control character (U+007F)"),
    ("empty", "", "empty input"),
    ("blank", "   ", "empty input"),
    ("blank-lines", "\n\t\n", "empty input"),
    ("comment-only", "# nothing", "empty input"),
    # brackets, depth, size
    ("unclosed", "sin(x", "'(' was never closed"),
    ("unmatched", "x)", "unmatched ')'"),
    ("unclosed-list", "[x, y", "'[' was never closed"),
    ("trailing-operator", "x +", "syntax error"),
    ("deep-parens", DEEP_PARENS, "nested"),
    ("deep-calls", DEEP_CALLS, "nested more than 100 levels"),
    ("megabyte", MEGABYTE, "1000001 characters long; the limit is 50000"),
    ("huge-integer", "1" * 5000, "more than 4300 digits"),
    ("big-integer", "12345678901234567890*x", "too large"),
    ("huge-float", "1e400*x", "too large"),
    ("tower", "2**10**10**10", "exponent"),
    ("tower-variable", "x**10**10**10", "exponent"),
    ("big-power", "x**100000", "exponent 100000 is too large"),
    ("factorial", "factorial(10**9)", "unknown function 'factorial'"),
    ("gamma", "gamma(10**6)", "too large"),
    ("exp-exp", "exp(exp(exp(10)))*x", "too large"),
    ("cos-cos", "cos(cos(2 - exp(10**6)))*x", "too large"),
    ("division-by-zero", "1/0 + x", "undefined"),
    # decimal literals are exact: their size is read off the text, not the float Python made of it
    ("tiny-decimal-exponent", "1e-99999999*x", "exponent far out of range"),
    ("small-decimal", "1e-5000*x", "1e-5000 is too small (limit 1e-300)"),
    ("long-decimal", "0." + "1" * 5000 + "*x", "5000 significant digits; the limit is 100"),
    ("long-decimal-exponent", "1e" + "9" * 5000 + "*x", "exponent far out of range"),
    # powers of constants that SymPy multiplies out into integers Python cannot print
    ("power-of-small-constant", "(x/10**12)**1000", "numbers of about 12000 digits"),
    ("power-of-decimal", "(1e-12*x)**1000", "numbers of about 12000 digits"),
    ("power-of-power", "((x/10**6)**100)**100", "numbers of about 60000 digits"),
    ("no-variable", "10**13", "no variables"),
]

#: (id, expression, shapes, fragments of the error message)
SHAPES = [
    ("add-n-m", "a + b", {"a": "n", "b": "m"}, ["(n,)", "(m,)", "'+'"]),
    ("mul-n-m", "a * b", {"a": "n", "b": "m"}, ["(n,)", "(m,)", "'*'"]),
    ("sub-matrix", "A - B", {"A": "m,n", "B": "n,m"}, ["(m, n)", "(n, m)", "'-'"]),
    ("matmul-matrices", "A @ B", {"A": "m,n", "B": "m,n"}, ["(m, n)", "'@'"]),
    ("matmul-vector", "A @ x", {"A": "m,n", "x": "m"}, ["(m, n)", "(m,)", "'@'"]),
    ("matmul-scalars", "x @ y", {}, ["'@' needs arrays", "()"]),
    ("dot-n-m", "dot(a, b)", {"a": "n", "b": "m"}, ["(n,)", "(m,)"]),
    ("trace-vector", "trace(w)", {"w": "n"}, ["trace() needs", "(n,)"]),
    ("list-of-vectors", "[w, x]", {"w": "n"}, ["bracketed list must hold scalar"]),
]

#: (id, command-line options, fragment of the error message)
OPTIONS = [
    ("shape-empty", ["-s", "w="], "--shape 'w='"),
    ("shape-3d", ["-s", "w=n,m,k"], "3 dimensions"),
    ("shape-negative", ["-s", "w=-1"], "bad dimension '-1'"),
    ("shape-zero", ["-s", "w=0"], "at least 1"),
    ("shape-no-name", ["-s", "=n"], "--shape '=n'"),
    ("shape-dunder", ["-s", "__class__=n"], "not a variable name"),
    ("shape-injection", ["-s", "w=n;__import__('os')"], "bad dimension"),
    ("timeout-nan", ["--timeout", "nan"], "timeout must be"),
    ("timeout-negative", ["--timeout", "-1"], "timeout must be"),
    ("timeout-zero", ["--timeout", "0"], "timeout must be"),
    ("timeout-inf", ["--timeout", "inf"], "timeout must be"),
    ("wrt-dunder", ["--wrt", "__class__"], "not a variable name"),
]

#: (id, expression, wrt): input the parser accepts that tries to become code in an exported NumPy module.
#: Comments may hold anything printable; names may be anything the module itself uses.
EXPORTS = [
    ("docstring-double", 'x**2 #"""; import os; os.system("touch {canary}"); """', "x"),
    ("docstring-single", "x**2 #'''; import os; os.system('touch {canary}'); '''", "x"),
    ("docstring-open", 'x**2 #"""; open("{canary}", "w").write("x"); """', "x"),
    ("docstring-subprocess", 'x**2 #"""; import subprocess; subprocess.run(["touch", "{canary}"]); """', "x"),
    ("backslash-quote", 'x**2 # \\"""; import os; os.system("touch {canary}") #', "x"),
    ("trailing-backslash", "x**2 # \\", "x"),
    ("bad-escape-x", "x**2 # \\x", "x"),
    ("bad-escape-N", "x**2 # \\N{{oops}}", "x"),
    ("two-lines", 'y = x**2 # """\nz = y + 1 # """; __import__("os").system("touch {canary}") #', "x"),
    ("carriage-return", 'x**2 # """\rz = 2*x # """; import os; os.system("touch {canary}")', "x"),
    ("tab-and-hash", 'x**2\t#\t"""\t#\t"""', "x"),
    ("module-names", "value*numpy + sin(float) + functools*math + f_and_grad*SHAPES + derivative*operator",
     "value,numpy,float"),
    ("more-module-names", "WRT*LAYOUT + UPSTREAM*check_gradient + SOURCE_BASE64*d_value + np*self*print",
     "WRT,np"),
    ("dangerous-names", "os*system + eval*exec + open*compile + globals*getattr + subprocess*sys", "os,eval"),
    ("keyword-like-names", "match*case + type*print + async_*lambda_", "match,type"),
]
