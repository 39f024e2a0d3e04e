"""The trusted side of the sandbox: a submission's run folder (stage), the sandboxed
process and its limits (sandbox, cgroups), and the run's own account read as untrusted
data (trace). The untrusted side is grader.runner."""
