import cProfile, pstats, sys, gc
gc.disable()
from ambidex.detect._lint import lint_paths
tree = sys.argv[1]
pr = cProfile.Profile()
pr.enable()
r = lint_paths([tree])
pr.disable()
print(len(r.findings))
pr.dump_stats(sys.argv[2])
st = pstats.Stats(sys.argv[2]); st.sort_stats("tottime").print_stats(45)
st.sort_stats("cumulative").print_stats(60)
