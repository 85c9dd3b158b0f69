"""Imported once by the forkserver that starts tokforge's worker processes (``tokforge.processes``):
it makes the forkserver end with the main process, then loads tokforge and its compiled kernels
before forking, so each worker starts warm instead of loading them again (about 2 s per worker)."""
from tokforge.processes import follow_main_process, leave_the_users_script_alone

follow_main_process()
leave_the_users_script_alone()

from tokforge.counting.engines import warm_up  # noqa: E402  (after: warming up takes seconds)

warm_up()
