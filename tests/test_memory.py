"""The render hands freed memory back (reelflow/runtime/memory.py), measured on a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Threads that allocate frame-sized blocks with small survivors between them (as a render's
# tasks do): glibc keeps each thread's arena, pinned by the survivors.
CHURN = textwrap.dedent("""
    import sys, threading
    from reelflow.runtime.memory import limit_arenas, release
    if sys.argv[1] == "limited":
        limit_arenas()
    keep = []
    def churn():
        big = []
        for i in range(400):
            big.append(bytearray(64_000 + (i % 7) * 1000))
            keep.append(bytearray(600))  # above pymalloc's 512 bytes: from malloc, between the blocks
        del big
    threads = [threading.Thread(target=churn) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    if sys.argv[1] == "limited":
        release()
    print(int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) // 1024)
""")


def test_fewer_arenas_and_a_trim_give_back_what_threads_freed():
    default, limited = (int(subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True,
                                           check=True).stdout) for mode in ("default", "limited"))
    assert limited < default / 2 and default - limited > 40, (default, limited)
