# Attack: make the trusted side read host files through the artefacts: model.keras,
# trace.json and execution.json become symlinks to /etc/shadow and to guessed hidden
# split paths; then the whole artefacts folder becomes a link to /etc.
# Expected: nothing is followed; no host file's bytes appear in the result or report.
import json
import os
import shutil

artefacts = json.load(open(os.environ["GRADER_RUN_CONFIG"]))["artefacts"]
for name, target in (("model.keras", "/etc/shadow"), ("trace.json", "/etc/shadow"),
                     ("execution.json", "/work/main/build/data/happy-or-sad/dataset.json")):
    path = os.path.join(artefacts, name)
    if os.path.lexists(path):
        os.remove(path)
    os.symlink(target, path)
print("links planted:", os.listdir(artefacts))
shutil.move(artefacts, artefacts + ".real")
os.symlink("/etc", artefacts)
os._exit(0)
