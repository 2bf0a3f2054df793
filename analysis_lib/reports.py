"""Parameterised notebook runs on top of papermill: parameters checked before a kernel starts, an
executed notebook and an HTML report per parameter set, read-only database access by default.

A run either produces its whole report folder or none: outputs are written to a temporary folder and
renamed into place only when every cell succeeded. A failed run leaves ``<folder>.failed.ipynb`` beside
where the report would have been, for inspection, and raises ReportFailed naming the cell (#1 is the
notebook's first cell).
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
from jinja2 import DictLoader
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from .defaults import DEFAULT_OUTPUT_DIR
from .errors import AnalysisLibError, ConfigError
from .settings import READ_ONLY_USER, read_only_settings

LAB_ONLY_TAG = "lab-only"  # cells left out of HTML reports
_TRUE = {"true", "yes", "y", "1", "ja", "on"}
_FALSE = {"false", "no", "n", "0", "nee", "off"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ReportError(AnalysisLibError):
    """The run could not start: missing notebook, bad parameters, unwritable output."""


class ReportFailed(AnalysisLibError):
    """The notebook ran and a cell failed (error, timeout or a dead kernel); no report was made."""

    def __init__(self, message: str, *, cell: int | None, failed_notebook: Path | None):
        super().__init__(message)
        self.cell = cell
        self.failed_notebook = failed_notebook


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    type_name: str
    help: str


@dataclass(frozen=True)
class Report:
    notebook: Path  # the executed notebook
    html: Path
    parameters: dict[str, Any]


def parameters_of(notebook: str | os.PathLike) -> dict[str, Parameter]:
    """The parameters a notebook declares in its cell tagged 'parameters', with their types and help;
    none for a notebook without such a cell."""
    path = _existing(notebook)
    if not _has_parameters_cell(path):
        return {}
    found = {}
    for name, info in papermill.inspect_notebook(str(path)).items():
        default = _literal(info["default"])
        declared = info["inferred_type_name"]
        type_name = declared if declared not in (None, "None") else type(default).__name__
        found[name] = Parameter(name=name, default=default, type_name=type_name, help=info["help"])
    return found


def checked_parameters(notebook: str | os.PathLike, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` converted to the types of the notebook's defaults; ReportError for unknown or wrong ones."""
    declared = parameters_of(notebook)
    unknown = sorted(set(given) - set(declared))
    if unknown and not declared and not _has_parameters_cell(_existing(notebook)):
        raise ReportError(
            f"{notebook} takes no parameters ({', '.join(unknown)} given): it has no cell tagged 'parameters';"
            " tag the cell that sets the defaults to run it with other values"
        )
    if unknown:
        listing = ", ".join(f"{p.name} ({p.type_name}, default {p.default!r})" for p in declared.values())
        raise ReportError(f"unknown parameter {', '.join(unknown)} for {notebook}; it takes: {listing}")
    return {name: _convert(declared[name], value) for name, value in given.items()}


def run(
    notebook: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
    *,
    output_dir: str | os.PathLike = DEFAULT_OUTPUT_DIR,
    hide_code: bool = False,
    read_only: bool = True,
    timeout: float | None = None,
    kernel_name: str | None = None,
) -> Report:
    """Run ``notebook`` with ``parameters`` and write reports/<notebook>/<folder_name(parameters)>/{notebook.ipynb,report.html}."""
    path = _existing(notebook)
    values = checked_parameters(path, parameters or {})
    target = Path(output_dir) / path.stem / folder_name(values)
    failed = failed_notebook_path(target)
    _prepare_output(target)
    _claim_for(path, target.parent, Path(output_dir))
    # a folder of the usual mode (mkdtemp's 0700 would hide the report from the folder's group)
    scratch = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}"
    scratch.mkdir()
    try:
        executed = scratch / "notebook.ipynb"
        _execute(path, executed, values, timeout=timeout, kernel_name=kernel_name, failed=failed,
                 environment=_kernel_environment(read_only))
        (scratch / "report.html").write_text(_html(executed, hide_code=hide_code), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # nothing left there after a successful rename
    failed.unlink(missing_ok=True)
    return Report(notebook=target / "notebook.ipynb", html=target / "report.html", parameters=values)


def _has_parameters_cell(path: Path) -> bool:
    return any("parameters" in _tags(cell) for cell in nbformat.read(path, as_version=4).cells)


def _existing(notebook: str | os.PathLike) -> Path:
    path = Path(notebook)
    if not path.is_file():
        raise ReportError(f"{path}: no such notebook")
    return path


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source  # an expression papermill will evaluate in the kernel; passed through as text


def _convert(parameter: Parameter, value: Any) -> Any:
    """A CLI string (or a YAML value) as the parameter's type, as an analyst would expect it."""
    kind = parameter.type_name
    if kind == "str":
        text = str(value)
        if _DATE.fullmatch(str(parameter.default)):
            _valid_date(parameter, text)
        return text
    if not isinstance(value, str):
        return value  # already typed (a YAML parameter file)
    text = value.strip()
    try:
        if kind == "bool":
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
        if kind in ("list", "tuple"):
            items = json.loads(text) if text.startswith("[") else [item.strip() for item in text.split(",") if item.strip()]
            if not isinstance(items, list):
                raise ValueError
            return items
        if kind == "dict":
            items = json.loads(text)
            if not isinstance(items, dict):
                raise ValueError
            return items
        if kind == "NoneType":
            return _literal(text)
    except (ValueError, json.JSONDecodeError):
        raise ReportError(
            f"parameter {parameter.name}: {value!r} is not a {kind} (default {parameter.default!r})"
        ) from None
    return value


def _valid_date(parameter: Parameter, text: str) -> None:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"parameter {parameter.name}: {text!r} is not a date (YYYY-MM-DD)") from None


def folder_name(values: Mapping[str, Any]) -> str:
    """'categorie=Afval,stadsdeel=N': the folder of one parameter set, readable, and different for
    different sets (so runs never overwrite each other's reports).

    Names and values are joined by '=' and ','; list items by '+'. Every other character outside
    A-Z a-z 0-9 '-' '.' '_' is %-escaped, so no value can imitate a separator or a path (an empty list
    is '[]'); names differ wherever the values of one parameter (always of one type) differ. A name longer
    than the limit is cut and ends in '~' and a hash of the whole name ('~' is escaped everywhere else).
    """
    if not values:
        return "defaults"
    text = ",".join(f"{name}={_shown(values[name])}" for name in sorted(values))
    if len(text) > _MAX_FOLDER_NAME:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        text = f"{text[: _MAX_FOLDER_NAME - len(digest) - 1]}~{digest}"
    return text


_MAX_FOLDER_NAME = 120  # characters; file systems allow 255 bytes, and an escaped character takes 3 to 9


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "+".join(_escaped(str(item)) for item in value) if value else "[]"  # '[' is escaped in items
    if isinstance(value, dict):
        return _escaped(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return _escaped(str(value))


def _escaped(text: str) -> str:
    return urllib.parse.quote(text, safe="-._").replace("~", "%7E")  # quote() always leaves '~' as it is


def failed_notebook_path(target: Path) -> Path:
    """Where a failed run keeps its executed notebook: beside its folder (whose name may hold dots)."""
    return target.parent / f"{target.name}.failed.ipynb"


def _prepare_output(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(f"cannot write reports under {target.parent}: {error.strerror}") from None
    if not os.access(target.parent, os.W_OK):
        raise ReportError(f"cannot write reports under {target.parent}: not writable by uid {os.getuid()}")


_NOTEBOOK_MARK = ".notebook"  # in reports/<notebook>/: which notebook's reports these are


def _claim_for(notebook: Path, folder: Path, output_dir: Path) -> None:
    """reports/<name>/ is named after the notebook's file name alone: two notebooks of one name in
    different folders would overwrite each other's reports. The folder remembers its notebook (by its
    path relative to the output folder's parent, the same inside the lab and on the host) and refuses
    another."""
    own = os.path.relpath(notebook.resolve(), output_dir.resolve().parent)
    mark = folder / _NOTEBOOK_MARK
    try:
        earlier = mark.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        mark.write_text(own + "\n", encoding="utf-8")
        return
    if earlier != own:
        raise ReportError(
            f"{folder} holds the reports of {earlier}, not of {own}: two notebooks of one name would overwrite"
            " each other's reports; give this one another output folder (output_dir=, --output-dir) or another file name"
        )


def _kernel_environment(read_only: bool) -> dict[str, str]:
    """What the run's kernel gets on top of this process's environment: libpq pointed at the read-only
    role. Given to the kernel alone, so runs in other threads keep their own role."""
    if not read_only:
        return {}
    try:
        settings = read_only_settings()
    except ConfigError as error:
        raise ReportError(f"a read-only run cannot connect: {error}, or run with read_only=False (--owner)") from None
    changes = {"PGUSER": READ_ONLY_USER}
    if settings.source == "ANALYST_DATABASE_URL":
        changes["DATABASE_URL"] = os.environ["ANALYST_DATABASE_URL"]
    return changes


def _kernel_manager_with(changes: Mapping[str, str]) -> type[AsyncKernelManager]:
    """A kernel manager class whose kernels start with ``changes`` in their environment."""
    environment_changes = dict(changes)

    class KernelManagerForRun(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**kw.get("env", os.environ), **environment_changes}
            return await super()._async_pre_start_kernel(**kw)

    return KernelManagerForRun


def _execute(source: Path, executed: Path, values: dict, *, timeout, kernel_name, failed: Path, environment: dict) -> None:
    try:
        # the kernel's working folder is the notebook's, given to the kernel alone: papermill's cwd=
        # would change this whole process's folder, under runs in other threads
        papermill.execute_notebook(
            str(source.resolve()), str(executed.resolve()), parameters=values, kernel_name=kernel_name,
            execution_timeout=timeout, progress_bar=False, kernel_manager_class=_kernel_manager_with(environment),
            resources={"metadata": {"path": str(source.resolve().parent)}},
        )
    except papermill.PapermillExecutionError as error:
        shutil.copy(executed, failed)
        cell = _source_cell_number(executed, error.cell_index)
        # IPython shows a UsageError (a failing %sql, say) on stderr only: that text is the reason then
        reason = f"{error.ename}: {error.evalue}" if error.evalue else _stderr_of(executed, error.cell_index) or error.ename
        raise ReportFailed(
            f"{source}: cell #{cell} failed: {reason}\n"
            f"{_excerpt(error.source)}\n(the executed notebook is in {failed})",
            cell=cell, failed_notebook=failed,
        ) from None
    except (CellTimeoutError, DeadKernelError) as error:
        cell, code = _last_started_cell(executed)
        _keep(executed, failed)
        what = (
            f"cell #{cell} did not finish within {timeout} s; the cells after it did not run"
            if isinstance(error, CellTimeoutError)
            else f"the kernel died while running cell #{cell} (out of memory, or the code ended the process)"
        )
        raise ReportFailed(
            f"{source}: {what}\n{_excerpt(code)}", cell=cell, failed_notebook=failed if failed.exists() else None
        ) from None


def _stderr_of(executed: Path, index: int) -> str:
    outputs = _cells_as_run(executed)[index].get("outputs", [])
    text = "".join(output.get("text", "") for output in outputs if output.get("name") == "stderr")
    return text.strip().splitlines()[0] if text.strip() else ""


def _last_started_cell(executed: Path) -> tuple[int | None, str]:
    """The cell that was running: the last one papermill gave a start time (it marks every cell
    'completed' after a timeout or a dead kernel, so the status cannot tell)."""
    if not executed.exists():
        return None, ""
    cells = _cells_as_run(executed)
    started = [index for index, cell in enumerate(cells) if cell.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return None, ""
    return _source_cell_number(executed, started[-1]), cells[started[-1]].source


def _source_cell_number(executed: Path, index: int) -> int:
    """Executed cell ``index`` as the analyst counts it: from 1, in the notebook as written (without
    the cell papermill injects for the parameters)."""
    injected = sum("injected-parameters" in _tags(cell) for cell in _cells_as_run(executed)[:index])
    return index - injected + 1


def _cells_as_run(executed: Path) -> list:
    """The executed notebook's cells as the kernel ran them: without the error banner cells papermill
    adds to the file afterwards (error indexes count without them)."""
    return [cell for cell in nbformat.read(executed, as_version=4).cells if "papermill-error-cell-tag" not in _tags(cell)]


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _keep(executed: Path, failed: Path) -> None:
    if executed.exists():
        shutil.copy(executed, failed)


def _excerpt(source: str) -> str:
    lines = source.strip().splitlines()
    shown = "\n".join(f"    {line}" for line in lines[:6])
    return shown + ("\n    …" if len(lines) > 6 else "")


# Reports open offline: JupyterLab's look without the scripts the stock template loads from a CDN
# (require.js, MathJax, mermaid); LaTeX and mermaid diagrams stay as text.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def _html(executed: Path, *, hide_code: bool) -> str:
    exporter = HTMLExporter(
        extra_loaders=[DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})], template_file="offline.html.j2",
        exclude_input=hide_code, exclude_input_prompt=hide_code, exclude_output_prompt=hide_code,
    )
    # interactive widgets need a live kernel (and their JavaScript from the internet in a static page)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={LAB_ONLY_TAG}), enabled=True)
    notebook = nbformat.read(executed, as_version=4)
    notebook.metadata.pop("widgets", None)  # widget state makes the page fetch the widget manager from a CDN
    body, _ = exporter.from_notebook_node(notebook)
    return body
