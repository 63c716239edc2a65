"""Pure GPU scheduling: memory planning, filters, scorers, placement, quotas, preemption.

Everything here is synchronous and free of I/O (``trace`` only opens the file it is
given): snapshots in, decisions with reasons out. The simulator and the benchmark call the
same functions the control plane does. See docs/scheduling.md.
"""
