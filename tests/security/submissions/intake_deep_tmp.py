# Attack: leave 3,000 nested folders in /tmp (a chain far longer than PATH_MAX, so only
# descriptors reach the bottom), the deepest one holding a file and made read-only. The
# run folder's cleanup once recursed on it: RecursionError, no result, the folder left.
# Expected: graded (the `runs` points at most), and no run folder left behind.
import os

fd = os.open("/tmp", os.O_RDONLY)
for _ in range(3000):
    os.mkdir("d", dir_fd=fd)
    inner = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = inner
with open(os.open("left.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
    f.write("left behind?")
os.fchmod(fd, 0o500)
os.close(fd)
print("deep folders left")
