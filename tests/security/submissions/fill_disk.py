# Attack: fill the disk through the run's /tmp and working folder, in files under the
# per-file size limit. Expected: stopped by the disk limit of the spec with a clear message.
import itertools

chunk = b"x" * 2**20
for index in itertools.count():
    for folder in ("/tmp", "."):
        try:
            with open(f"{folder}/fill-{index}.bin", "wb") as handle:
                for _ in range(8):
                    handle.write(chunk)
        except OSError as exc:
            print("write failed:", type(exc).__name__, exc)
