"""Fault injection (error rates, scripted status sequences, latency, dropped connections) and the
request log that tests and the benchmark read (API requests per verb and path)."""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from .errors import ApiError


@dataclass
class Rule:
    """One fault rule. ``sequence`` entries are consumed one per matching request (0 = let it through);
    ``status`` with ``rate`` fails that share of matching requests; ``times`` caps how often it fires."""

    verb: str = "*"
    path: str = ".*"
    status: int = 0
    rate: float = 1.0
    sequence: list[int] = field(default_factory=list)
    latency_ms: int = 0
    drop: bool = False
    times: int | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        self._path = re.compile(self.path)
        if not (self.status or self.sequence or self.latency_ms or self.drop):
            raise ValueError("a fault rule needs status, sequence, latency_ms or drop")

    def matches(self, verb: str, path: str) -> bool:
        return (self.verb in ("*", verb)) and bool(self._path.search(path)) and (self.times is None or self.fired < self.times)

    def public(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


@dataclass
class Decision:
    latency: float = 0.0
    drop: bool = False
    error: ApiError | None = None


class Faults:
    def __init__(self, seed: int | None = None):
        self.rules: list[Rule] = []
        self.random = random.Random(seed)

    def set(self, rules: list[dict]) -> None:
        try:
            self.rules = [Rule(**r) for r in rules]
        except (TypeError, ValueError, re.error) as exc:
            raise ApiError(400, f"invalid fault rules: {exc}") from exc

    def decide(self, verb: str, path: str) -> Decision:
        decision = Decision()
        for rule in self.rules:
            if not rule.matches(verb, path):
                continue
            decision.latency += rule.latency_ms / 1000
            code = 0
            if rule.sequence:
                code = rule.sequence.pop(0)
            elif rule.status and self.random.random() < rule.rate:
                code = rule.status
            if rule.drop and (not (rule.status or rule.sequence) or code):
                decision.drop = True
            elif code and decision.error is None:
                decision.error = ApiError(code, f"injected fault: {verb} {path} answered {code} by the simulator's fault rules")
            if code or rule.drop or rule.latency_ms:
                rule.fired += 1
        self.rules = [r for r in self.rules if r.sequence or r.status or r.drop or r.latency_ms]
        return decision


class RequestLog:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.counts: Counter = Counter()
        self.verbs: Counter = Counter()
        self.statuses: Counter = Counter()
        self.entries: list[dict] = []

    def record(self, method: str, verb: str, path: str, status: int, started: float) -> None:
        self.counts[f"{method} {path}"] += 1
        self.verbs[verb] += 1
        self.statuses[str(status)] += 1
        self.entries.append({"method": method, "verb": verb, "path": path, "status": status,
                             "ms": round((time.monotonic() - started) * 1000, 1)})
        del self.entries[:-5000]

    def summary(self) -> dict:
        return {"total": sum(self.counts.values()), "by_verb": dict(self.verbs), "by_status": dict(self.statuses),
                "counts": dict(self.counts), "recent": self.entries[-200:]}
