"""Imported once by the forkserver that starts counting workers (``tokforge.counting``): it loads
tokforge and its compiled kernels before forking, so each worker starts warm instead of loading
them again (about 2 s per worker)."""
from tokforge.counting import warm_up

warm_up()
