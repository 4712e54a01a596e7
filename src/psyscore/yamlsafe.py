"""Reading YAML that users write (definitions, `--map` files) without being fooled or hung.

`yaml.safe_load` is safe from code execution but not from three other things, each of which this
module refuses with the line at fault:

- an alias bomb ("billion laughs"): a few lines of anchors and aliases that expand to billions of
  values. PyYAML builds them cheaply as shared objects, but everything that walks the result
  (validation, line maps, JSON dumps) then runs for hours. The node graph is composed first (libyaml
  when available, which is fast) and the size of its expansion counted, per distinct node, before
  anything is built from it;
- a duplicate key (two `total:` scores, `reverse: true` then `reverse: false`): YAML says keys are
  unique, PyYAML keeps the last one silently;
- values the constructor cannot build or that nest absurdly deep (a 5000-digit number, 10,000
  brackets), which would otherwise surface as a traceback.

Anchors and aliases themselves are fine: mapping files use them for shared recodes, and YAML merge
keys (`<<: *base`) may be overridden by explicit keys, as YAML intends.
"""

from __future__ import annotations

import yaml

MAX_EXTRA_NODES = 100_000  # values that aliases may add beyond those written out in the file
MAX_DEPTH = 100  # nesting levels; a definition needs about eight
MAX_NUMBER_CHARS = 100  # digits of one number; no code, bound or norm needs more

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available, for speed
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


class YamlProblem(ValueError):
    """The text is not YAML we accept. `line` is 1-based, or None when no line applies."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def load_yaml(text: str) -> tuple[object, yaml.Node | None]:
    """Parse `text`; return the data and the composed root node (for line numbers), or (None, None).

    Raises
    ------
    YamlProblem
        On a syntax error, an alias bomb, a recursive alias, nesting deeper than `MAX_DEPTH`, a
        duplicate key, or a value that cannot be built. The message says what and the line where.
    """
    loader = _LOADER(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _syntax_problem(exc) from None
        if root is None:
            return None, None
        mappings = _check_graph(root)
        for node in mappings:
            _check_unique_keys(node)
        try:
            data = loader.construct_document(root)
        except yaml.YAMLError as exc:
            raise _syntax_problem(exc) from None
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date
            raise YamlProblem(f"a value cannot be read: {exc}") from None
        return data, root
    finally:
        loader.dispose()


def scalar_value(node: yaml.ScalarNode) -> object:
    """The Python value of one scalar node (as a key: `1` is the number 1, `"1"` the text)."""
    try:
        return yaml.constructor.SafeConstructor().construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return node.value


def top_level_lines(root: yaml.Node | None) -> dict[str, int]:
    """Line of each top-level key (as text) of a mapping document; {} for anything else."""
    if not isinstance(root, yaml.MappingNode):
        return {}
    return {
        str(scalar_value(k)): _line(k) for k, _v in root.value if isinstance(k, yaml.ScalarNode)
    }


def _syntax_problem(exc: yaml.YAMLError) -> YamlProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return YamlProblem(f"not valid YAML: {problem}", mark.line + 1 if mark is not None else None)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_graph(root: yaml.Node) -> list[yaml.MappingNode]:
    """Refuse deep nesting, huge numbers, recursion and alias bombs; return the mapping nodes.

    A first walk (iterative, so deep nesting cannot overflow Python's stack) checks depth and
    numbers and notices whether any node is reached twice, which only aliases can cause. Only then
    is the expansion measured (`_check_expansion`); a file without aliases pays one cheap walk.
    """
    seen: set[int] = set()
    mappings: list[yaml.MappingNode] = []
    shared = False
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        key = id(node)
        if key in seen:
            shared = True
            continue
        seen.add(key)
        if isinstance(node, yaml.ScalarNode):
            if len(node.value) > MAX_NUMBER_CHARS and node.tag in _NUMBER_TAGS:
                raise YamlProblem(
                    f"a number with {len(node.value)} characters; numbers here have at most "
                    f"{MAX_NUMBER_CHARS}",
                    _line(node),
                )
            continue
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nested more than {MAX_DEPTH} levels deep", _line(node))
        if isinstance(node, yaml.MappingNode):
            mappings.append(node)
            for pair in node.value:
                stack.append((pair[0], depth + 1))
                stack.append((pair[1], depth + 1))
        else:
            stack.extend((child, depth + 1) for child in node.value)
    if shared:
        _check_expansion(root)
    return mappings


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a recursive alias, or aliases that expand to over `MAX_EXTRA_NODES` extra values.

    Each distinct node is visited once; its expanded size and height are computed from its
    children's, so a graph whose expansion has 10^9 nodes is measured in microseconds.
    """
    size: dict[int, int] = {}  # id(node) -> nodes in its full expansion, itself included
    height: dict[int, int] = {}  # id(node) -> nesting levels of its expansion
    uses: dict[int, int] = {}  # id(node) -> how many parents point at it
    nodes: dict[int, yaml.Node] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            height[key] = 1 + max((height[id(k)] for k in kids), default=0)
            if height[key] > MAX_DEPTH:  # aliases can stack nesting that no single anchor has
                raise YamlProblem(f"nested more than {MAX_DEPTH} levels deep", _line(node))
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlProblem(
                "an alias refers to the list or mapping that contains it", _line(node)
            )
        nodes[key] = node
        if isinstance(node, yaml.ScalarNode):
            size[key], height[key] = 1, 1
            continue
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            uses[id(kid)] = uses.get(id(kid), 0) + 1
            if id(kid) not in size:
                stack.append((kid, False))
    extra = size[id(root)] - len(nodes)
    if extra > MAX_EXTRA_NODES:
        shared = [nodes[k] for k, n in uses.items() if n > 1]
        worst = max(shared, key=lambda n: size[id(n)] * uses[id(n)])
        raise YamlProblem(
            f"aliases expand this file to over {size[id(root)]:,} values "
            f"(an alias bomb?); at most {MAX_EXTRA_NODES:,} may come from aliases. The anchor "
            f"repeated most starts here: write the values out, or use fewer nested aliases",
            _line(worst),
        )


def _check_unique_keys(node: yaml.MappingNode) -> None:
    """Two equal keys in one mapping are an error naming both lines (YAML requires unique keys)."""
    seen: dict[object, yaml.Node] = {}
    for key_node, _value in node.value:
        if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
            continue  # merged keys may be overridden; complex keys are refused when built
        key = key_node.value if key_node.tag == _STR else scalar_value(key_node)
        try:
            first = seen.get(key)
        except TypeError:  # pragma: no cover - scalars are hashable
            continue
        if first is not None:
            raise YamlProblem(
                f"duplicate key {key_node.value!r} (lines {_line(first)} and {_line(key_node)}); "
                "YAML keeps only the last one: remove or rename one of them",
                _line(key_node),
            )
        seen[key] = key_node
