# Attack: redraw the hidden split inside the run and train on it. The generator is public
# (this repository); the training seed follows from one staged training image; the
# hidden seed used to be the training seed + 1_000_003. This file carries its own copy of
# the drawing code: tests/security/test_mount_attacks.py pastes the repository's
# grader/exercise/datasets/faces.py into GENERATOR below before grading it. Without it,
# it tries to import the generator from the grader package.
# Expected: none of the 120 images drawn here is a hidden image (the test compares the
# sha256 printed after REDRAWN with the hidden split's files, on the trusted side).
import hashlib
import io
import os
import sys
import types

GENERATOR = None  # the repository's faces.py source, pasted by the test
OLD_PUBLIC_OFFSET = 1_000_003
STAGED = os.environ.get("ATTACK_STAGED_IMAGE", "/tmp/h-or-s/happy/happy1-00.png")


def generator():
    if GENERATOR is not None:
        module = sys.modules["stolen_faces"] = types.ModuleType("stolen_faces")
        exec(compile(GENERATOR, "stolen_faces.py", "exec"), module.__dict__)
        return module
    try:
        from grader.exercise.datasets import faces
    except ImportError:
        try:
            from grader.datasets import faces
        except ImportError:
            print("NO-GENERATOR")
            sys.exit(0)
    return faces


faces = generator()
from PIL import Image  # noqa: E402

with Image.open(STAGED) as staged:
    target = staged.convert("RGBA").tobytes()
seed = next((s for s in range(4) if faces.draw_face(
    faces._image_rng(s, "train", "happy", 1, 0), "happy", 1,
    faces.TRAIN_VARIATION).tobytes() == target), None)
print("TRAINING-SEED", seed)
if seed is None:
    sys.exit(0)
digests = []
for label in faces.CLASSES:
    for index in range(60):
        style = faces.STYLES[index % len(faces.STYLES)]
        image = faces.draw_face(faces._image_rng(seed + OLD_PUBLIC_OFFSET, "hidden", label,
                                                 style, index), label, style,
                                faces.HIDDEN_VARIATION)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        digests.append(hashlib.sha256(buffer.getvalue()).hexdigest()[:16])
print("REDRAWN", " ".join(digests))
