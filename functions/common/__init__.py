"""Code shared by the skybook Lambda handlers.

Packaged as ``common/`` at the root of every function zip, so handlers import it as
``from common import ...``. Only the standard library and boto3 may be used here: the
handlers run on the plain Lambda Python runtime.
"""
