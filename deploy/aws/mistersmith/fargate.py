"""The Fargate task sizes AWS accepts, checked before synthesis.

cfn-lint does not know which cpu/memory pairs Fargate takes nor that a container's stopTimeout
is capped at 120 s on Fargate; a bad pair is only refused at deploy time, half-way through a
stack update. The tests and EnvConfig.validate() check every task definition against this table.
"""

# Fargate stops a task at most 120 s after SIGTERM (and Spot gives a 2-minute warning).
MAX_STOP_TIMEOUT_SECONDS = 120


def _steps(first: int, last: int, step: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1, step))


# cpu units -> accepted memory (MiB), from the Fargate task size table (Linux).
VALID_TASK_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}


def is_valid_task_size(cpu: int, memory_mib: int) -> bool:
    return memory_mib in VALID_TASK_SIZES.get(cpu, ())


def check_task_size(what: str, cpu: int, memory_mib: int) -> None:
    if not is_valid_task_size(cpu, memory_mib):
        accepted = VALID_TASK_SIZES.get(cpu)
        hint = f"cpu {cpu} takes memory {list(accepted)}" if accepted else \
            f"cpu must be one of {sorted(VALID_TASK_SIZES)}"
        raise ValueError(f"{what}: Fargate has no task size cpu={cpu} memory={memory_mib} ({hint})")
