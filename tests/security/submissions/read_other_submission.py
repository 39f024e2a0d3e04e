# Attack: find and print another student's submission in the same batch (it would be
# copied answers). Looks for the honest submission's secret comment anywhere visible.
# Expected: other submissions are not mounted; nothing printed.
import os

needle = b"HONEST" + b"-STUDENT-SECRET"
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys", "/dev", "/usr")) or "site-packages" in root:
        dirs[:] = []
        continue
    for name in files:
        if name.endswith((".py", ".ipynb")):
            path = os.path.join(root, name)
            try:
                data = open(path, "rb").read(2_000_000)
            except OSError:
                continue
            if needle in data and path != __file__:
                print("FOUND:", path, data[:500])
print("search done")
