"""The package's layers, enforced: every import in the library (module level or inside a function) goes to the
same layer or a lower one, and the modules import each other without a circle.

    core <- data, modules <- losses <- models <- train <- explore <- studies <- app

The layout shows the layers: the subpackages `train/`, `explore/`, `studies/` and `app/` are named after theirs. A new
top-level module must be given a layer here: the test fails for a module it does not know.
"""
import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / 'fer_explore'
LAYERS = ('core', 'data', 'losses', 'models', 'train', 'explore', 'studies', 'app')
LAYER_OF = {   # first part of the module name under fer_explore -> its layer
    'errors': 'core', 'core': 'core',
    'data': 'data', 'modules': 'data', 'vis': 'data', 'testing': 'data',   # data sets, building blocks, drawing helpers
    'losses': 'losses',
    'models': 'models',
    'train': 'train', 'explore': 'explore', 'studies': 'studies', 'app': 'app',   # subpackages named after their layer
}


def module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def library_modules() -> dict:
    "module name -> path, every .py of the library but the generated index."
    return {module_name(p): p for p in sorted(LIB.rglob('*.py')) if p.name != '_modidx.py' and '__pycache__' not in p.parts}


def imports(name: str, path: Path) -> set:
    "The fer_explore modules `name` imports anywhere in its file (function bodies included), as full module names."
    package = name if path.name == '__init__.py' else name.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith('fer_explore.')}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            if not target.startswith('fer_explore'): continue
            if target == 'fer_explore' or node.module is None:   # `from . import x`: the submodules themselves
                found |= {f'{target}.{a.name}' for a in node.names}
            else:
                found.add(target)
    mods = library_modules()
    return {t if t in mods else t.rsplit('.', 1)[0] for t in found if t != 'fer_explore'} - {name}


def layer(module: str) -> str:
    part = module.split('.')[1]
    if part not in LAYER_OF: pytest.fail(f"fer_explore.{part} has no layer: give it one in tests/test_layers.py")
    return LAYER_OF[part]


GRAPH = {name: imports(name, path) for name, path in library_modules().items() if name != 'fer_explore'}


def test_every_module_has_a_layer():
    assert {n.split('.')[1] for n in GRAPH} <= set(LAYER_OF), sorted({n.split('.')[1] for n in GRAPH} - set(LAYER_OF))


def test_imports_go_down_the_layers():
    up = [f"{src} ({layer(src)}) imports {dst} ({layer(dst)})" for src, dsts in GRAPH.items() for dst in sorted(dsts)
          if LAYERS.index(layer(dst)) > LAYERS.index(layer(src))]
    assert not up, '\n'.join(up)


def test_nothing_imports_the_command_line():
    assert not [src for src, dsts in GRAPH.items() if 'fer_explore.app.cli' in dsts]


def test_no_import_circles():
    state, circles = {}, []
    def visit(n, stack):
        state[n] = 'open'
        for m in sorted(GRAPH.get(n, ())):
            if state.get(m) == 'open': circles.append(' -> '.join(stack[stack.index(m):] + [m]))
            elif m not in state: visit(m, stack + [m])
        state[n] = 'done'
    for n in sorted(GRAPH):
        if n not in state: visit(n, [n])
    assert not circles, '\n'.join(circles)


def test_the_scan_sees_function_level_imports(tmp_path):
    "The scan itself: an import inside a function body, and a relative one, are found."
    p = LIB / 'studies' / 'zoo.py'
    found = imports('fer_explore.studies.zoo', p)
    assert 'fer_explore.train.learner' in found          # imported inside fill_cache only
    assert 'fer_explore.train.checkpoint' in found       # `from ..train.checkpoint import ...` at the top


def test_no_library_file_over_600_lines():
    long = {n: len(p.read_text().splitlines()) for n, p in library_modules().items()}
    assert not {n: k for n, k in long.items() if k > 600}
