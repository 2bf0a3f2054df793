"""``analysis-lib build``: what is missing or stale, in dependency order, independent entries in
parallel; each table checked and swapped in with its provenance in one transaction.

One build at a time (a session advisory lock); a killed build leaves every table as before or as
built, with provenance that matches, and the next build cleans its half-made tables away.

The build's bookkeeping (its lock, the plan, its provenance rows) goes through a plain psycopg
connection and SQLAlchemy is imported only when an entry is made, so a no-op build answers at once.
"""

from __future__ import annotations

import functools
import graphlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from .. import pg
from .sql import quoted, run
from . import fingerprints as fp
from . import provenance
from .plan import BROKEN, MISSING, STALE, UNMANAGED, Plan, Step
from ..errors import CatalogError
from .status import read_plan

BUILT, FAILED, SKIPPED, CURRENT = "built", "failed", "skipped", "up to date"


@dataclass
class Outcome:
    name: str
    result: str
    seconds: float = 0.0
    rows: int | None = None
    message: str = ""


@dataclass
class BuildResult:
    build_id: int | None
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(o.result in (FAILED, SKIPPED) for o in self.outcomes)

    @property
    def built(self) -> list[str]:
        return [o.name for o in self.outcomes if o.result == BUILT]


def build(root: str | Path = ".", names: list[str] = (), *, downstream_of: list[str] = (), dry_run: bool = False, jobs: int = 1,
          force: bool = False, keep_going: bool = False, verify: bool = False, echo: Callable[[str], None] = print) -> BuildResult:
    root = Path(root).resolve()
    if jobs < 1:
        raise CatalogError(f"--jobs {jobs}: give at least 1")
    if dry_run:
        with pg.connect() as conn:
            plan = read_plan(root, conn, verify=verify)
        return _dry_run(plan, plan.selected(list(names), list(downstream_of)), force, echo)
    with _build_lock(echo) as lock:
        provenance.ensure_schema(lock)
        _clear_staging(lock)
        killed = provenance.mark_killed_builds(lock)
        if killed:
            echo(f"{killed} earlier build(s) had been killed; their half-made tables are removed")
        plan = read_plan(root, lock, verify=verify)
        provenance.remember_hashes(lock, [f for step in plan.steps.values() for f in (step.file, *step.companions) if f])
        chosen = plan.selected(list(names), list(downstream_of))
        if not force and not any(plan.steps[name].needs_build for name in chosen):
            return BuildResult(None, [Outcome(name, CURRENT) for name in chosen])  # nothing to record
        plan.confirm()
        selection = " ".join([*names, *(f"{n}+" for n in downstream_of)]) or "all"
        recipes = sorted({path for step in plan.steps.values() for path in _recipe_files(step) if path})
        build_id = provenance.start_build(lock, root, selection, recipes)
        result = BuildResult(build_id)
        try:
            _Builder(plan, chosen, root, build_id, force=force, keep_going=keep_going, echo=echo).run(jobs, result)
        finally:
            state = "succeeded" if result.ok and len(result.outcomes) == len(chosen) else "failed"
            provenance.finish_build(lock, build_id, state, {o.name: o.result for o in result.outcomes})
    return result


def _recipe_files(step: Step) -> list[str]:
    """What a commit must hold to make the entry again besides datasets.yml (and its data)."""
    definition = step.recipe.amsterdam_schema
    dataset = str(Path(definition).parent.parent / "dataset.json") if definition else None
    return [step.recipe.sql, definition, dataset]


class _build_lock:
    """A session advisory lock held on a connection of its own for the whole build (autocommit, so
    the connection holds no transaction meanwhile). A killed build's lock ends with its session."""

    def __init__(self, echo):
        self.echo = echo

    def __enter__(self) -> psycopg.Connection:
        self.conn = pg.connect()
        try:
            self._take()
        except BaseException:  # interrupted while waiting, or the server went away: nothing is held
            self.conn.close()
            raise
        return self.conn

    def _take(self) -> None:
        key = (provenance.BUILD_LOCK,)
        if not run(self.conn, "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", key).scalar():
            holder = run(
                self.conn,
                "SELECT a.pid, a.usename, a.application_name, date_trunc('second', now() - a.backend_start) FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                " AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s, 0)", key).first()
            who = f"pid {holder[0]}, user {holder[1]}, running {holder[3]}" if holder else "another session"
            self.echo(f"another build is running ({who}); waiting for it to finish")
            run(self.conn, "SELECT pg_advisory_lock(hashtextextended(%s, 0))", key)

    def __exit__(self, *exc) -> None:
        try:
            run(self.conn, "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (provenance.BUILD_LOCK,))
        finally:
            self.conn.close()


def _clear_staging(conn: psycopg.Connection) -> None:
    """Under the build lock nothing else uses catalog_staging: what is in it was left by a killed build."""
    for name, relkind in run(
        conn,
        "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = 'catalog_staging'::regnamespace AND c.relkind IN ('r', 'm', 'v')"
    ).all():
        kind = {"r": "TABLE", "m": "MATERIALIZED VIEW", "v": "VIEW"}[relkind]
        run(conn, f"DROP {kind} IF EXISTS {quoted(provenance.STAGING_SCHEMA, name)} CASCADE")


def _dry_run(plan: Plan, chosen: list[str], force: bool, echo) -> BuildResult:
    result = BuildResult(None)
    for name in chosen:
        step = plan.steps[name]
        if step.needs_build or force:
            why = "; ".join(step.reasons) or "--force"
            refused = step.state == BROKEN or (step.state == UNMANAGED and not force)
            verb = "cannot build" if step.state == BROKEN else "would refuse" if refused else "would build"
            echo(f"{verb:13} {name:28} {step.qualified:36} {why}")
            result.outcomes.append(Outcome(name, FAILED if refused else "would build", message=why))
        else:
            echo(f"{'up to date':13} {name:28} {step.qualified}")
            result.outcomes.append(Outcome(name, CURRENT))
    echo(f"dry run: {sum(o.result == 'would build' for o in result.outcomes)} to build, nothing was changed")
    return result


class _Builder:
    def __init__(self, plan: Plan, chosen: list[str], root: Path, build_id: int, *, force: bool, keep_going: bool, echo):
        self.plan, self.chosen, self.root, self.build_id = plan, chosen, root, build_id
        self.force, self.keep_going, self.echo = force, keep_going, echo
        # what each input is in the database as this build goes: built now, or as recorded
        self.as_built: dict[str, str] = {
            name: step.recorded.fingerprint.data for name, step in plan.steps.items()
            if step.recorded and step.state != MISSING and not step.changed_outside
        }
        self.recipes_to_come: dict[tuple[str, str], str] = {}  # views of this build not made yet (see swap.make_views)
        self.lock = threading.Lock()

    def run(self, jobs: int, result: BuildResult) -> None:
        todo = [n for n in self.chosen if self.plan.steps[n].needs_build or self.force]
        for name in todo:
            step = self.plan.steps[name]
            if step.recipe.materialized != "table" and step.query is not None and step.state in (STALE, MISSING):
                self.recipes_to_come[(step.schema, step.table)] = step.query.text.strip().rstrip(";")
        for name in self.chosen:
            if name not in todo:
                result.outcomes.append(Outcome(name, CURRENT))
        sorter = graphlib.TopologicalSorter({n: [i for i in self.plan.steps[n].inputs if i in todo] for n in todo})
        sorter.prepare()
        failed: set[str] = set()
        not_built: set[str] = set()
        stopped = False
        ready: deque[str] = deque()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            running = {}
            try:
                while sorter.is_active():
                    ready.extend(sorter.get_ready())
                    while ready and len(running) < jobs:  # started only when a worker is free, so a failure stops what waits
                        name = ready.popleft()
                        blocked = [i for i in self.plan.steps[name].inputs if i in not_built]
                        if blocked or stopped:
                            why = ("not started: an earlier entry failed" if not blocked else
                                   f"input {', '.join(blocked)} {'failed' if set(blocked) <= failed else 'was not built'}")
                            result.outcomes.append(Outcome(name, SKIPPED, message=why))
                            not_built.add(name)
                            sorter.done(name)
                            continue
                        running[pool.submit(self._build_one, name)] = name
                    if not running:
                        continue
                    # with a timeout: Ctrl-C may reach a worker thread, and the main thread sees it only between waits
                    finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in finished:
                        outcome = self._finished(running, future, result)
                        if outcome.result == FAILED:
                            failed.add(outcome.name)
                            not_built.add(outcome.name)
                            stopped = stopped or not self.keep_going
                        sorter.done(outcome.name)
            except KeyboardInterrupt:  # what runs is let finish, so the summary and catalog.builds say what was swapped in
                self.echo(f"interrupted: waiting for {', '.join(running.values()) or 'nothing'} to finish;"
                          " nothing else is started")
                for future in as_completed(list(running)):
                    self._finished(running, future, result)
                raise
            finally:
                order = {n: i for i, n in enumerate(self.plan.steps)}
                result.outcomes.sort(key=lambda o: order[o.name])

    def _finished(self, running: dict, future, result: BuildResult) -> Outcome:
        name = running.pop(future)
        outcome = future.result()
        result.outcomes.append(outcome)
        self.echo(_line(outcome, self.plan.steps[name]))
        return outcome

    def _build_one(self, name: str) -> Outcome:
        import sqlalchemy as sa  # making an entry needs it; the bookkeeping does not

        from .swap import DependentBroken

        step = self.plan.steps[name]
        started = time.perf_counter()
        try:
            if step.state == BROKEN:
                raise CatalogError("; ".join(step.reasons))
            if step.state == UNMANAGED and not self.force:
                raise CatalogError(step.reasons[0])
            missing = [i for i in step.inputs if i not in self.as_built]
            if missing:
                why = "changed outside the catalog" if self.plan.steps[missing[0]].changed_outside else "missing"
                raise CatalogError(f"input {', '.join(missing)} is {why}: build it first, or build {name} with --select {missing[0]}+")
            facts = self._make(step)
        except (CatalogError, sa.exc.DBAPIError, OSError, DependentBroken) as error:
            return Outcome(name, FAILED, time.perf_counter() - started, message=_reason(error))
        except Exception as error:  # the loader's errors (LoadError, InputFileError) and anything unexpected
            return Outcome(name, FAILED, time.perf_counter() - started, message=f"{type(error).__name__}: {error}")
        return Outcome(name, BUILT, time.perf_counter() - started, facts["rows"], message="\n".join(facts.get("notes", [])))

    def _fingerprint_as_built(self, step: Step) -> fp.Fingerprint:
        components = dict(step.fingerprint.components)
        if "inputs" in components:
            components["inputs"] = {n: self.as_built[n] for n in step.inputs}
        return fp.Fingerprint(components, step.fingerprint.checks)

    def _make(self, step: Step) -> dict:
        from .making import make_derived, make_from_file, recheck

        started = time.perf_counter()
        built = self._fingerprint_as_built(step)
        recorded = step.recorded
        only_checks = step.state == STALE and step.reasons == ["checks changed"]
        checks_only = not self.force and only_checks and recorded and recorded.fingerprint.components == built.components
        facts = recheck(_with_fingerprint(step, built), self.build_id) if checks_only else None
        if facts is None:  # made again (also when a re-check found the table changed by hand)
            staging = f"{step.table[:30]}_{uuid.uuid4().hex[:12]}"  # short enough for its indexes' names
            with self.lock:
                recipes = {k: v for k, v in self.recipes_to_come.items() if k != (step.schema, step.table)}
            maker = make_derived if step.recipe.sql else functools.partial(make_from_file, root=self.root)
            facts = maker(_with_fingerprint(step, built), staging=staging, build_id=self.build_id, started=started, recipes=recipes)
        with self.lock:
            self.as_built[step.name] = built.data
            self.recipes_to_come.pop((step.schema, step.table), None)
        return facts


def _with_fingerprint(step: Step, fingerprint: fp.Fingerprint) -> Step:
    from dataclasses import replace

    return replace(step, fingerprint=fingerprint)


def _reason(error: Exception) -> str:
    import sqlalchemy as sa

    if isinstance(error, sa.exc.DBAPIError):
        return str(error.orig).strip().splitlines()[0]
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _line(outcome: Outcome, step: Step) -> str:
    rows = f"{outcome.rows:,} rows" if outcome.rows is not None else ""
    text = f"{outcome.result:10} {outcome.name:28} {step.qualified:36} {outcome.seconds:7.1f} s  {rows}"
    return text + (f"\n           {outcome.message}" if outcome.message else "")


def summary(result: BuildResult) -> str:
    width = max((len(o.name) for o in result.outcomes), default=5)
    lines = [f"{'entry':{width}}  {'result':10} {'seconds':>8} {'rows':>12}  note"]
    for o in result.outcomes:
        rows = f"{o.rows:,}" if o.rows is not None else ""
        note = " ".join(o.message.split())
        lines.append(f"{o.name:{width}}  {o.result:10} {o.seconds:8.1f} {rows:>12}  {note[:140] + '…' if len(note) > 140 else note}")
    counts = {r: sum(o.result == r for o in result.outcomes) for r in (BUILT, CURRENT, FAILED, SKIPPED)}
    lines.append(", ".join(f"{n} {r}" for r, n in counts.items() if n) + (f" (build {result.build_id})" if result.build_id else ""))
    return "\n".join(lines)

