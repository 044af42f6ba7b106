#!/usr/bin/env python3
"""Validates mask's JSON documents against the schemas in this folder.

    python3 schemas/validate.py SCHEMA_NAME FILE...   (e.g. manifest /tmp/out/_manifest.json)

Exits 1 with every violation listed when a document does not match. Also refuses a schema whose
property names are not snake_case, so the one naming rule is checked where it is declared.
"""
import json
import pathlib
import re
import sys

import jsonschema
from referencing import Registry, Resource

HERE = pathlib.Path(__file__).resolve().parent
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def registry():
    resources = []
    for path in sorted(HERE.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def property_names(node, where=""):
    if isinstance(node, dict):
        for name, value in node.get("properties", {}).items():
            yield name, where
            yield from property_names(value, f"{where}.{name}")
        for key, value in node.items():
            if key != "properties":
                yield from property_names(value, where)
    elif isinstance(node, list):
        for item in node:
            yield from property_names(item, where)


def main():
    name, files = sys.argv[1], sys.argv[2:]
    schema = json.loads((HERE / f"{name}.schema.json").read_text())
    bad = [f"{where}.{key}" for key, where in property_names(schema) if not SNAKE.match(key)]
    if bad:
        sys.exit(f"{name}.schema.json: property names not snake_case: {', '.join(bad)}")
    validator = jsonschema.Draft202012Validator(schema, registry=registry(), format_checker=jsonschema.FormatChecker())
    failed = False
    for file in files:
        document = json.loads(pathlib.Path(file).read_text())
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
            failed = True
            path = "/".join(str(p) for p in error.absolute_path) or "(root)"
            print(f"{file}: {path}: {error.message}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
