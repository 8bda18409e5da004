"""The sandbox: a project-owned Asterisk 22 (Debian sid's build) for tests and demos.

    from ivr.sandbox import Sandbox, SandboxError, SandboxStatus
    Sandbox(home).start()        # provisions on first use; home = ivr.config.home_dir()
"""
from ivr.sandbox.instance import Sandbox
from ivr.sandbox.model import Ports, SandboxError, SandboxStatus

__all__ = ["Ports", "Sandbox", "SandboxError", "SandboxStatus"]
