# Attack: allocate memory without end (and touch it, so it is really resident).
# Expected: the memory cgroup kills the run; status says "memory limit".
blocks = []
while True:
    blocks.append(bytearray(64 * 2**20))
