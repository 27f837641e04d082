#!/usr/bin/env python3
"""Generates src/taskdef/schema.rs: the JSON key tree of ECS RegisterTaskDefinition's input.

It reads the request serializers that aws-sdk-ecs generates from the AWS service model
(src/protocol_serde/shape_*.rs in the crate source cargo downloaded), so the artifact check
knows every field AWS accepts, with its JSON type, and nothing else. Run it after bumping
aws-sdk-ecs:  python3 scripts/gen-taskdef-schema.py > src/taskdef/schema.rs
"""
import glob, os, re, sys

def crate_dir():
    lock = open(os.path.join(os.path.dirname(__file__), "..", "Cargo.lock")).read()
    version = re.search(r'name = "aws-sdk-ecs"\nversion = "([^"]+)"', lock).group(1)
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    dirs = glob.glob(f"{home}/registry/src/*/aws-sdk-ecs-{version}/src/protocol_serde")
    if not dirs:
        sys.exit(f"aws-sdk-ecs {version} source not found; run `cargo fetch` first")
    return dirs[0], version

SRC, VERSION = crate_dir()
shapes = {}  # shape name -> list of (key, kind, required)

def ser_body(shape):
    text = open(f"{SRC}/shape_{shape}.rs").read()
    m = re.search(r"pub fn ser_%s(?:_input)?\(.*?\n\}\n" % re.escape(shape), text, re.S)
    return m.group(0).split("\n")

def kind_after(lines, i, first):
    """Kind of the value written at lines[i] (whose writer call starts with `first`)."""
    if first.startswith(".string(") or first.startswith(".string_unchecked("):
        return "Str"
    if first.startswith(".boolean("):
        return "Bool"
    if first.startswith(".date_time("):
        return "Str"
    if first.startswith(".number("):
        window = " ".join(lines[i:i + 3])
        return "Float" if "Float" in window else "Int"
    if first.startswith(".start_object()"):
        for j in range(i + 1, min(i + 6, len(lines))):
            m = re.search(r"protocol_serde::shape_(\w+)::ser_", lines[j])
            if m:
                visit(m.group(1))
                return f'Obj("{m.group(1)}")'
            if re.search(r"for \(key_\d+, value_\d+\)", lines[j]):
                for k in range(j + 1, min(j + 8, len(lines))):
                    mm = re.search(r"\.key\(key_\d+\.as_str\(\)\)(\.\w+\()", lines[k])
                    if mm:
                        return f"Map(&{kind_after(lines, k, mm.group(1))})"
        raise SystemExit(f"unknown object at {lines[i]}")
    if first.startswith(".start_array()"):
        for j in range(i + 1, min(i + 6, len(lines))):
            mm = re.search(r"\.value\(\)(\.\w+\(\)?)", lines[j])
            if mm:
                return f"List(&{kind_after(lines, j, mm.group(1))})"
        raise SystemExit(f"unknown array at {lines[i]}")
    raise SystemExit(f"unknown writer {first} at {lines[i]}")

def visit(shape):
    if shape in shapes:
        return
    shapes[shape] = None
    lines = ser_body(shape)
    fields = []
    for i, line in enumerate(lines):
        m = re.search(r'\bobject\.key\("([^"]+)"\)(\.\w+\(\)?)', line)
        if not m:
            continue
        prev = lines[i - 1].strip()
        fields.append((m.group(1), kind_after(lines, i, m.group(2)), prev == "{"))
    shapes[shape] = fields

visit("register_task_definition_input")
out = [
    "//! The JSON key tree of ECS `RegisterTaskDefinition` input, generated from aws-sdk-ecs's",
    f"//! request serializers (aws-sdk-ecs {VERSION}) by `scripts/gen-taskdef-schema.py`. Do not edit.",
    "",
    "use super::shape::{Field, Kind, Kind::*};",
    "",
    "/// Every shape reachable from the request, by the SDK's shape name.",
    "pub static SHAPES: &[(&str, &[Field])] = &[",
]
for name in sorted(shapes):
    out.append(f'    ("{name}", &[')
    for key, kind, req in shapes[name]:
        out.append(f'        Field {{ key: "{key}", kind: {kind}, required: {str(req).lower()} }},')
    out.append("    ]),")
out.append("];")
out.append("")
out.append('/// The root shape: the body of `aws ecs register-task-definition --cli-input-json`.')
out.append('pub const ROOT: Kind = Obj("register_task_definition_input");')
print("\n".join(out))
