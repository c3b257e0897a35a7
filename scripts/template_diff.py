#!/usr/bin/env python3
"""What two versions of template.yaml deploy differently: both are read as CloudFormation reads
them after AWS::LanguageExtensions (every `Fn::ForEach` unrolled, `Fn::FindInMap` with literal keys
resolved), then compared resource by resource, property by property. For reshaping the template
(folding repeated blocks into loops, moving comments, flow style) with proof that nothing deployed
changed: no output but the counts means the two deploy the same.

    python3 scripts/template_diff.py <(git show HEAD~1:template.yaml) template.yaml

Parameter descriptions and the template's description are left out (text for the console, not
what is deployed). Logical ids are compared too: a renamed resource shows as REMOVED and ADDED,
which on an existing stack means a replacement (for a route: a second route with the same key,
refused by API Gateway until the old one is gone)."""

import sys

import yaml

# The loop substitution is the local gateway's, so both read the template the same way.
from local_gateway import substitute as _substitute


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags read as their long form (`!Sub x` → `{"Fn::Sub": x}`)."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = suffix if suffix in ("Ref", "Condition") else "Fn::" + suffix
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


def _expand(node, mappings):
    if isinstance(node, list):
        return [_expand(item, mappings) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::FindInMap"}:
        keys = [_expand(k, mappings) for k in node["Fn::FindInMap"][:3]]
        if all(isinstance(k, str) for k in keys):
            return mappings[keys[0]][keys[1]][keys[2]]
    out = {}
    for key, value in node.items():
        if isinstance(key, str) and key.startswith("Fn::ForEach::"):
            identifier, collection, fragment = value
            for item in _expand(collection, mappings):
                out.update(_expand(_substitute(fragment, "${" + identifier + "}", item), mappings))
        else:
            out[key] = _expand(value, mappings)
    return out


def deployed(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=_Loader)
    expanded = _expand(template, template.get("Mappings", {}))
    expanded.pop("Mappings", None)
    expanded.pop("Description", None)
    for parameter in expanded.get("Parameters", {}).values():
        parameter.pop("Description", None)
        parameter.pop("ConstraintDescription", None)
    return expanded


def differences(old, new, path: str = "") -> list:
    if type(old) is not type(new):
        return [f"CHANGED {path}: {old!r:.200} → {new!r:.200}"]
    if isinstance(old, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            at = f"{path}/{key}"
            if key not in old:
                found.append(f"ADDED {at}")
            elif key not in new:
                found.append(f"REMOVED {at}")
            else:
                found.extend(differences(old[key], new[key], at))
        return found
    if isinstance(old, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if old == new else [f"CHANGED {path}: {old!r:.200} → {new!r:.200}"]


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = deployed(sys.argv[1]), deployed(sys.argv[2])
    found = differences(old, new)
    for line in found:
        print(line)
    print(f"resources: {len(old.get('Resources', {}))} → {len(new.get('Resources', {}))}; {len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
