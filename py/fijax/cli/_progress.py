"""Progress bars of the CLI in plain units (training steps, Monte-Carlo samples) with an honest ETA.

The engine reports ``progress(fraction, message)`` with messages such as ``epoch 2/10 step 30/250
loss 0.01`` or ``image 1/1 sample 3/20``. :class:`CountBar` reads the ``step``/``sample`` counter from
them and starts its clock at the first one reported: the first step includes XLA's compilation,
which would otherwise make the first ETA many times too long.
"""

from __future__ import annotations

import re
import sys
from typing import Any

_COUNTER = {"step": re.compile(r"\bstep (\d+)/(\d+)"), "sample": re.compile(r"\bsample (\d+)/(\d+)")}


class CountBar:
    """A tqdm bar over the ``unit`` counter of progress messages (``step`` or ``sample``)."""

    def __init__(self, desc: str, unit: str = "step", enabled: bool = True) -> None:
        self.desc, self.unit, self.enabled = desc, unit, enabled
        self.bar: Any = None
        self._rx = _COUNTER[unit]
        self._total: int | None = None

    def __call__(self, fraction: float, message: str) -> None:
        if not self.enabled:
            return
        m = self._rx.search(message)
        rest = self._rx.sub("", message).replace("  ", " ").strip()
        if m is None:
            if self.bar is not None:
                self.bar.set_postfix_str(rest, refresh=True)
            return
        done, total = int(m.group(1)), int(m.group(2))
        if self.bar is None or total != self._total:
            from tqdm import tqdm

            if self.bar is not None:
                self.bar.close()
            # initial=done: tqdm's rate (and ETA) counts only what follows the first report, so the
            # compilation inside the first step is not taken for the speed of every step
            self.bar = tqdm(total=total, initial=done, unit=self.unit, desc=self.desc, file=sys.stderr,
                            leave=True, dynamic_ncols=True)
            self._total = total
        else:
            self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(rest, refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
