#!/usr/bin/env python3
"""Validates Argo Workflow files with Argo's own models (hera's `hera.workflows.models`, generated
from Argo's OpenAPI schema) and refuses unknown fields, which those models would silently drop: a
misspelt `retryStrategy` or `withParam` must fail here, not be ignored by the cluster.

    python3 scripts/validate-argo.py deploy/argo/*.yaml     # exit 0, or 1 with each problem
"""
from __future__ import annotations

import sys
import typing

import pydantic
import yaml
from hera.workflows.models import Workflow


def models_in(annotation) -> list[type[pydantic.BaseModel]]:
    """The pydantic models an annotation (Optional[List[X]], Dict[str, X], Annotated[...]) holds."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation]
    found = []
    for argument in typing.get_args(annotation):
        found += models_in(argument)
    return found


def unknown_fields(model: type[pydantic.BaseModel], data, path: str) -> list[str]:
    if isinstance(data, list):
        return [problem for index, item in enumerate(data) for problem in unknown_fields(model, item, f"{path}[{index}]")]
    if not isinstance(data, dict):
        return []
    if issubclass(model, pydantic.RootModel):
        root = model.model_fields["root"].annotation
        return [p for inner in models_in(root) for p in unknown_fields(inner, data, path)]
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    problems = []
    for key, value in data.items():
        info = fields.get(key)
        if info is None:
            problems.append(f"{path}.{key}: not a field of {model.__name__}")
            continue
        for inner in models_in(info.annotation)[:1]:
            if isinstance(value, dict) and not issubclass(inner, pydantic.RootModel) and not inner.model_fields:
                continue
            if isinstance(value, dict) and typing.get_origin(info.annotation) is dict:
                for name, item in value.items():
                    problems += unknown_fields(inner, item, f"{path}.{key}.{name}")
            else:
                problems += unknown_fields(inner, value, f"{path}.{key}")
    return problems


def main(paths: list[str]) -> int:
    failed = False
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            documents = [document for document in yaml.safe_load_all(handle) if document]
        for document in documents:
            try:
                Workflow.model_validate(document)
                problems = unknown_fields(Workflow, document, "")
            except pydantic.ValidationError as error:
                problems = [str(error)]
            for problem in problems:
                print(f"{path}: {problem}")
                failed = True
        if not failed:
            print(f"{path}: valid ({len(documents)} Workflow)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
