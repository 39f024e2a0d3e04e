# Attack: print without end, to exhaust the grader's memory or disk through captured
# output. Expected: only a bounded tail is kept (with the truncation marker); time limit.
line = "spam " * 40 + "\n"
while True:
    print(line, end="")
