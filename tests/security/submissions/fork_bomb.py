# Attack: a fork bomb. Expected: the pids limit refuses forks past the spec's
# max_processes, the time limit ends the run, the grader and the batch go on.
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
