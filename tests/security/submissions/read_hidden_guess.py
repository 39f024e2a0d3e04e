# Attack: read the hidden split by guessing where the grader keeps it (default data
# dirs, the repository's build/data, relative climbs out of the working folder, $HOME).
# Expected: nothing found; any hit is printed as "FOUND:" and fails the suite.
import os

guesses = [
    "/work/main/build/data/happy-or-sad/hidden",
    "/root/.cache/tf-image-grader/happy-or-sad/hidden",
    os.path.expanduser("~/.cache/tf-image-grader/happy-or-sad/hidden"),
    os.environ.get("GRADER_DATA_DIR", "/nonexistent") + "/happy-or-sad/hidden",
    "../../../../build/data/happy-or-sad/hidden",
    "/tmp/../hidden", "/hidden", "/data/hidden", "/grader/hidden", "/grader/run/../hidden",
]
for guess in guesses:
    for cls in ("happy", "sad", ""):
        path = os.path.join(guess, cls)
        if os.path.isdir(path):
            for name in os.listdir(path)[:20]:
                print("FOUND:", path, name)
                try:
                    print("FOUND-BYTES:", open(os.path.join(path, name), "rb").read(200))
                except OSError:
                    pass
print("guessing done")
