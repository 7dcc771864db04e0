"""mkdocs hook: the Reference pages generated from the code, so they cannot drift from it.

- ``reference/cli.md``: every command of the typer app, its usage, arguments and options (click's view of it);
- ``reference/formats/<name>.md``: one page per file format, from the pydantic model's JSON schema
  (add a format: one line in ``FORMATS``);
- ``reference/models.md``: the SAM 2 model registry.
"""

from __future__ import annotations

import enum
import importlib
import json
import typing
from dataclasses import dataclass

from mkdocs.structure.files import File, Files


@dataclass(frozen=True)
class Format:
    page: str  # file name under reference/formats/
    title: str
    model: str  # "module:Class", a pydantic model
    intro: str


FORMATS = (
    Format(
        "game-file",
        "Game file",
        "multicam.game:GameConfig",
        "The game file (YAML): [how to write one](../../guide/game-file.md).",
    ),
    Format(
        "prompts-file",
        "Prompts file",
        "multicam.prompts:PromptsFile",
        "The prompts file (YAML): [how to write one](../../guide/prompts.md).",
    ),
    Format(
        "manifest-schema",
        "Run manifest (schema)",
        "multicam.manifest:RunManifest",
        "Every field of a run's `manifest.json`: [the run directory](run-directory.md).",
    ),
    Format(
        "report-schema",
        "report.json (schema)",
        "multicam.report.record:ReportRecord",
        "Every field of a consistency report's `report.json`: [the report](report-json.md).",
    ),
    Format(
        "batch-schema",
        "Batch record (schema)",
        "multicam.batch.record:BatchRecord",
        "Every field of `runs/_batches/<name>N/batch.json`: [many games](../../guide/batch.md).",
    ),
)


def on_files(files: Files, config) -> Files:
    pages = {"reference/cli.md": cli_page(), "reference/models.md": models_page()}
    pages |= {f"reference/formats/{f.page}.md": format_page(f) for f in FORMATS}
    for src_uri, content in pages.items():
        files.append(File.generated(config, src_uri, content=content))
    return files


# --- command line -----------------------------------------------------------------------------------------------


def cli_page() -> str:
    import typer.main

    from multicam.cli import app

    root = typer.main.get_command(app)
    lines = [
        "# Command line",
        "",
        "Generated from the `multicam` command itself; `multicam COMMAND --help` prints the same on a terminal.",
        "User mistakes end with one line saying what to fix and exit code 2.",
        "",
    ]
    ctx = root.context_class(root, info_name="multicam")
    for name in sorted(root.commands):
        lines += _command(root.commands[name], ctx, name)
    return "\n".join(lines) + "\n"


def _command(cmd, parent, name: str) -> list[str]:
    """One command's section (typer's commands, which follow click's API)."""
    ctx = cmd.context_class(cmd, info_name=name, parent=parent)
    lines = [f"## `{ctx.command_path}`", "", _clean(cmd.help or ""), "", "```", cmd.get_usage(ctx).strip(), "```", ""]
    params = [p for p in cmd.get_params(ctx) if not getattr(p, "hidden", False) and p.name != "help"]
    if params:
        lines += ["| argument / option | value | default | meaning |", "| --- | --- | --- | --- |"]
        lines += [_param_row(p) for p in params]
        lines.append("")
    for sub in sorted(getattr(cmd, "commands", {})):
        lines += _command(cmd.commands[sub], ctx, sub)
    return lines


def _param_row(param) -> str:
    is_option = hasattr(param, "is_flag")
    if is_option:
        names = " / ".join(", ".join(f"`{o}`" for o in opts) for opts in (param.opts, param.secondary_opts) if opts)
    else:
        names = f"`{(param.name or '').upper()}`"
    kind = "flag" if is_option and param.is_flag else _type_name(param)
    if param.multiple:
        kind += ", repeatable"
    default = param.default
    if param.required:
        default = "required"
    elif default is None or default == () or default == []:
        default = ""
    elif is_option and param.is_flag and param.secondary_opts:
        default = f"`{(param.opts if default else param.secondary_opts)[0]}`"
    else:
        default = f"`{getattr(default, 'value', default)}`"
    helptext = _clean(getattr(param, "help", None) or "").replace("|", "\\|").replace("\n", " ")
    return f"| {names} | {kind} | {default} | {helptext} |"


def _type_name(param) -> str:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if annotation is None:
        return getattr(getattr(param, "type", None), "name", "text")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    args = typing.get_args(annotation)
    if args:  # list[str], Optional[Path], ...
        annotation = next(a for a in args if a is not type(None))
    return {str: "text", int: "integer", float: "number", bool: "flag"}.get(
        annotation, getattr(annotation, "__name__", "text").lower()
    )


def _clean(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines()).replace("\b\n", "")


# --- file formats -----------------------------------------------------------------------------------------------


def format_page(fmt: Format) -> str:
    module, _, cls = fmt.model.partition(":")
    model = getattr(importlib.import_module(module), cls)
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    lines = [f"# {fmt.title}", "", fmt.intro, "", f"Generated from `{module}.{cls}`. Unknown fields are errors.", ""]
    for title, node in [(cls, schema), *sorted(defs.items())]:
        lines += [f"## `{title}`", "", node.get("description", ""), ""]
        lines += ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
        required = set(node.get("required", ()))
        for field, prop in node.get("properties", {}).items():
            default = "required" if field in required else f"`{json.dumps(prop.get('default'))}`"
            meaning = prop.get("description", "").replace("|", "\\|")
            lines.append(f"| `{field}` | {_type(prop)} | {default} | {meaning} |")
        lines.append("")
    lines += [
        "## JSON schema",
        "",
        "For editors and validators (e.g. the YAML language server):",
        "",
        '??? note "JSON schema"',
        "",
        "    ```json",
        *("    " + line for line in json.dumps(schema, indent=2).splitlines()),
        "    ```",
        "",
    ]
    return "\n".join(lines)


def _type(prop: dict) -> str:
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#{name.lower()})"
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(_type(p) for p in prop["prefixItems"]) + "]"
        return f"list of {_type(prop.get('items', {}))}"
    if prop.get("format") == "path":
        return "path"
    bounds = [f"{sym} {prop[key]}" for key, sym in (("minimum", ">="), ("maximum", "<=")) if key in prop]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


# --- models -----------------------------------------------------------------------------------------------------


def models_page() -> str:
    from multicam.models import DEFAULT_MODEL, REGISTRY

    lines = [
        "# SAM 2 models",
        "",
        f"The names `multicam models`, `--model` and the game file's `model.name` accept (default `{DEFAULT_MODEL}`).",
        "Generated from `multicam.models.REGISTRY`; parameter counts were measured by building each architecture",
        "from sam2's configs. Sizes marked `~` are approximate.",
        "",
        "| name | parameters | checkpoint | sam2 config |",
        "| --- | --- | --- | --- |",
    ]
    for spec in REGISTRY.values():
        size = f"{spec.size_bytes:,} B" if spec.size_bytes else f"~{spec.approx_mb} MB"
        lines.append(f"| `{spec.name}` | {spec.params / 1e6:.2f} M | {size} | `{spec.config}` |")
    lines += ["", "Download URLs:", ""]
    lines += [f"- `{spec.name}`: <{spec.url}>" for spec in REGISTRY.values()]
    return "\n".join(lines) + "\n"
