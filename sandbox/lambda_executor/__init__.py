"""The ``process`` Lambda runtime executor: LocalStack Lambda functions as local processes.

``plugin`` is what LocalStack discovers, ``executor`` runs inside LocalStack, ``process`` manages
one function process, and ``runtime`` is the bootstrap that runs inside each function process.
"""
