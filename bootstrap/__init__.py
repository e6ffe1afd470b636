"""skybook's deployer: the stack as data, planned and applied with boto3 on any target.

``from bootstrap import deploy, plan, destroy, read_outputs`` is the programmatic door;
``python -m bootstrap`` the command-line one.
"""

from bootstrap.deployer import Result, deploy, destroy, outputs, plan
from bootstrap.errors import DeployError
from bootstrap.outputs import read_outputs, stack_outputs
from bootstrap.settings import Settings
from bootstrap.target import Target

__all__ = [
    "DeployError",
    "Result",
    "Settings",
    "Target",
    "deploy",
    "destroy",
    "outputs",
    "plan",
    "read_outputs",
    "stack_outputs",
]
