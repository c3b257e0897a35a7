"""Holds the published events to the contract: every sample the tests kept (target/events/, one
real event per detail type as a subscriber received it) validates against its JSON Schema in
docs/events/, and every schema has a sample (so no detail type goes untested).

Usage: python scripts/check_event_schemas.py SAMPLES_DIR SCHEMAS_DIR
"""

import json
import pathlib
import sys

import jsonschema


def main() -> int:
    samples, schemas = (pathlib.Path(p) for p in sys.argv[1:3])
    problems = []
    schema_types = {p.name.removesuffix(".schema.json"): p for p in schemas.glob("*.schema.json")}
    sample_types = {p.stem: p for p in samples.glob("*.json")}
    for detail_type in sorted(set(schema_types) | set(sample_types)):
        if detail_type not in sample_types:
            problems.append(f"{detail_type}: a schema, but no published event was kept by the tests")
            continue
        if detail_type not in schema_types:
            problems.append(f"{detail_type}: published, but docs/events/ has no schema for it")
            continue
        schema = json.loads(schema_types[detail_type].read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        event = json.loads(sample_types[detail_type].read_text())
        for error in jsonschema.Draft202012Validator(schema).iter_errors(event):
            problems.append(f"{detail_type}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(sample_types)} published events checked against {len(schema_types)} schemas: "
          f"{'OK' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
