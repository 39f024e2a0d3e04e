# Attack: crash the interpreter with a segmentation fault through ctypes (a crash the
# grader's Python-level error handling never sees). Expected: status recorded, the
# runs check says the run was killed by signal 11, the batch goes on.
import ctypes

print("about to segfault")
ctypes.string_at(0)
