"""Run the benchmark's conversations through inspect-ai and time its eval() call.

Runs under bench/.venv-inspect (inspect-ai is installed for the benchmark only),
started by bench/runner_bench.py with the project root on PYTHONPATH so that the
probe families' own graders score the replies, exactly as Candor's runner does.
Options mirror inspect's CLI (``inspect eval --max-connections C --max-retries R
--timeout T``); ``max_samples`` is set to C too, so neither side has more
conversations in flight than connections. The result (in-process wall and CPU of
eval(), the log's status and sample counts) is written as JSON to ``--result``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from inspect_ai import Task, eval, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer
from inspect_ai.solver import TaskState, generate

from evals.probes import registry


def _items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@scorer(metrics=[accuracy()])
def family_grade():
    """The probe family's deterministic grader, as Candor's runner calls it."""
    items = {
        (family.key, item.key): (family, item)
        for family in registry.families()
        for item in family.items()
    }

    async def score(state: TaskState, target: Target) -> Score:
        meta = state.metadata
        family, item = items[(meta["family"], meta["item_key"])]
        grade = family.grade(item, meta["variant"], (state.output.completion,))
        return Score(
            value=CORRECT if grade.passed else INCORRECT, explanation=grade.reason
        )

    return score


@task
def candor_items(items_path: str) -> Task:
    samples = []
    for entry in _items(Path(items_path)):
        messages = [ChatMessageUser(content=entry["user"])]
        if entry["system"]:
            messages.insert(0, ChatMessageSystem(content=entry["system"]))
        samples.append(
            Sample(
                id=entry["id"],
                input=messages,
                metadata={
                    "family": entry["family"],
                    "item_key": entry["item_key"],
                    "variant": entry["variant"],
                },
            )
        )
    return Task(
        dataset=MemoryDataset(samples), solver=generate(), scorer=family_grade()
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--max-connections", type=int, required=True)
    parser.add_argument("--max-retries", type=int, required=True)
    parser.add_argument("--timeout", type=int, required=True)
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--result", required=True)
    args = parser.parse_args()

    expected = len(_items(Path(args.items)))
    the_task = candor_items(args.items)
    cpu_before, started = os.times(), time.perf_counter()
    logs = eval(
        the_task,
        model=args.model,
        max_connections=args.max_connections,
        max_samples=args.max_connections,
        max_retries=args.max_retries,
        timeout=args.timeout,
        max_tokens=512,
        temperature=0.0,
        log_dir=args.log_dir,
        display="none",
        log_level="warning",
        score_display=False,
    )
    eval_wall = time.perf_counter() - started
    cpu_after = os.times()
    eval_cpu = (cpu_after.user - cpu_before.user) + (
        cpu_after.system - cpu_before.system
    )

    # The log on disk decides, not the exit code or the returned object.
    log = read_eval_log(logs[0].location, header_only=True)
    results = log.results
    started_at, completed_at = log.stats.started_at, log.stats.completed_at
    log_wall = None
    if started_at and completed_at:
        from datetime import datetime

        log_wall = (
            datetime.fromisoformat(completed_at) - datetime.fromisoformat(started_at)
        ).total_seconds()
    Path(args.result).write_text(
        json.dumps(
            {
                "status": log.status,
                "expected": expected,
                "completed": results.completed_samples if results else 0,
                "total": results.total_samples if results else 0,
                "eval_wall": eval_wall,
                "eval_cpu": eval_cpu,
                "log_wall": log_wall,
                "error": str(log.error) if log.error else None,
            }
        )
    )


if __name__ == "__main__":
    main()
