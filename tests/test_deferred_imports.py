"""The CLI child's stand-ins for sympy.physics.units and sympy.tensor.tensor.

Each case runs in a fresh interpreter: the point is what a process imports.
"""

import subprocess
import sys
import textwrap


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_derivation_and_its_pretty_output_load_neither_package():
    out = run("""
        import sys
        from matcalc_sym.deferred_imports import DeferredModule, defer_imports
        import matcalc_sym
        defer_imports()
        d = matcalc_sym.derive("sin(x**2) + cos(x)*exp(x) - x/(1 + x**2)")  # sums, products, simplify()
        text = d.to_text()
        deferred = all(isinstance(sys.modules[m], DeferredModule) for m in ("sympy.physics.units", "sympy.tensor.tensor"))
        import sympy
        (x,) = d.result.free_symbols  # the package's own x (a real symbol)
        expected = sympy.diff(sympy.sin(x**2) + sympy.cos(x) * sympy.exp(x) - x / (1 + x**2), x)
        print(deferred, sympy.cancel(d.result - expected) == 0, "Result" in text and "cos" in text)
    """)
    assert out == "True True True"


def test_any_other_name_loads_the_real_package_which_then_answers_everything():
    out = run("""
        import sys
        from matcalc_sym.deferred_imports import DeferredModule, defer_imports
        defer_imports()
        from sympy.physics.units import Quantity as before   # the stand-in class
        import sympy.physics.units as units
        meter = units.meter                                   # a real name: the package loads
        from sympy.physics.units.quantities import Quantity as real
        print(isinstance(meter, real), units.Quantity is real, before is real,
              isinstance(sys.modules["sympy.physics.units"], DeferredModule))
    """)
    assert out == "True True False False"


def test_the_import_system_probes_load_nothing():
    out = run("""
        import sys
        from matcalc_sym.deferred_imports import DeferredModule, defer_imports
        defer_imports()
        stand_in = sys.modules["sympy.tensor.tensor"]
        print(hasattr(stand_in, "__path__"), hasattr(stand_in, "__file__"),
              isinstance(sys.modules["sympy.tensor.tensor"], DeferredModule))
    """)
    assert out == "False False True"


def test_an_already_loaded_package_is_left_alone():
    out = run("""
        import sys
        import sympy.physics.units as real
        from matcalc_sym.deferred_imports import defer_imports
        defer_imports()
        print(sys.modules["sympy.physics.units"] is real)
    """)
    assert out == "True"
