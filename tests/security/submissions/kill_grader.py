# Attack: kill the grader — the parent process, pid 1 of the sandbox, the whole process
# group and every pid it can name. Expected: the grader survives and records the run.
import os
import signal

for target in (os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
        print("sent SIGKILL to", target)
    except OSError as exc:
        print("refused:", target, type(exc).__name__)
for pid in range(2, 5000):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
print("still here")
