import ast, gc, sys, time, os
gc.disable()
from ambidex._sourcefiles import read_source
from ambidex.detect._lint import collect_files
from pathlib import Path
files = collect_files([sys.argv[1]])
texts = []
for f in files:
    try: texts.append((str(f), read_source(f)))
    except Exception: pass
print(len(texts), sum(len(t) for _, t in texts))
t = time.process_time(); keep = []
for p, s in texts:
    try: keep.append(ast.parse(s, p))
    except SyntaxError: pass
t1 = time.process_time(); print("parse", round(t1 - t, 2))
del keep; t2 = time.process_time(); print("free", round(t2 - t1, 2))
t = time.process_time()
for p, s in texts:
    try: compile(s, p, "exec", dont_inherit=True)
    except SyntaxError: pass
print("compile bytecode", round(time.process_time() - t, 2))
t = time.process_time()
import tokenize, io
n = 0
for p, s in texts[:400]:
    try:
        for tok in tokenize.generate_tokens(io.StringIO(s).readline): n += 1
    except Exception: pass
print("tokenize 400 files (py)", round(time.process_time() - t, 2), n)
