# Attack: read the sandbox's mount table (/proc/self/mountinfo, /proc/1/mountinfo) to
# learn where the grader lives on the host: the checkout, the data folder, the grader's
# home, the Python installation, the output folder.
# Expected: the table shows only neutral names (/grader/..., the system folders, a
# neutral cache folder, the run folder's random /tmp name). The test reads the root and
# mount-point fields printed here and looks for the host folders it knows.
for pid in ("self", "1"):
    try:
        with open(f"/proc/{pid}/mountinfo") as table:
            lines = table.read().splitlines()
    except OSError as exc:
        print("MOUNTS", pid, "unreadable", type(exc).__name__)
        continue
    for line in lines:
        fields = line.split()
        print("MOUNT", pid, fields[3], fields[4])
print("MOUNT-TABLE-DONE")
