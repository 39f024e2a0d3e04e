# A hostile submission for the warm-run isolation test (tests/test_warm_runs.py): it
# tries to leave something behind for the next submission graded by the same worker.
import os
import site
import subprocess
import sys
import threading
import time
import types

import tensorflow as tf

MARK = "LEFTOVER-FROM-LEAVER"
planted = []
places = [os.getcwd(), os.path.expanduser("~"), "/tmp", "/dev/shm", "/grader/run",
          site.getusersitepackages(), *sys.path]
for place in places:
    for name, text in (("sitecustomize.py", f"print('{MARK} sitecustomize')\n"),
                       ("usercustomize.py", f"print('{MARK} usercustomize')\n"),
                       ("zz_leftover.pth", f"import sys; print('{MARK} pth')\n"),
                       ("leftover_module.py", f"print('{MARK} module')\n")):
        try:
            os.makedirs(place, exist_ok=True)
            with open(os.path.join(place, name), "w") as handle:
                handle.write(text)
            planted.append(os.path.join(place, name))
        except OSError:
            pass
sys.modules["leftover_module"] = types.ModuleType("leftover_module")
tf.keras.LEFTOVER = MARK
tf.keras.layers.Dense = None  # the next student would fail to build a model
os.environ["LEFTOVER_ENV"] = MARK
threading.Thread(target=time.sleep, args=(3600,), name=MARK).start()
subprocess.Popen(["sleep", "3599.5"])  # the test looks for this on the host afterwards
with open("/tmp/filler", "wb") as handle:
    handle.write(b"\0" * (20 << 20))
print("planted", len(planted), "files", flush=True)
