"""azlab: a local Azure Resource Manager lab.

Layers (each imports only the ones below it):

* ``azlab.arm``      HTTP/ARM layer: parse, route, authenticate, serialise.
* ``azlab.models``   state and Azure's rules; no network or process I/O.
* ``azlab.dataplane`` turns model changes into podman containers and HAProxy.
"""

__version__ = "0.1.0"
