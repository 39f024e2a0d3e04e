# Attack: never finish (hold a grading slot forever). Expected: killed at the time limit,
# status "timeout", the next submission in the batch graded normally.
import time

print("going to sleep")
time.sleep(10**9)
