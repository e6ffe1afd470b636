"""The server as LocalStack's ``localstack.runtime.server`` plugin ``skybook`` (entry point in
pyproject.toml), chosen by ``GATEWAY_SERVER=skybook``; imported only inside LocalStack."""

from __future__ import annotations

import ssl

from localstack import config
from localstack.runtime.server.core import RuntimeServer, RuntimeServerPlugin
from rolo.gateway import Gateway
from rolo.gateway.wsgi import WsgiGateway

from sandbox.threaded_server.server import ThreadedServer

NAME = "skybook"


class ThreadedRuntimeServer(RuntimeServer):
    def __init__(self) -> None:
        self.server = ThreadedServer()

    def register(
        self,
        gateway: Gateway,
        listen: list[config.HostAndPort],
        ssl_creds: tuple[str, str] | None = None,
    ) -> None:
        tls = None
        if ssl_creds:  # LocalStack's certificate: HTTPS on the same port, as with Twisted
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(*ssl_creds)
            tls.set_alpn_protocols(["http/1.1"])
        app = WsgiGateway(gateway)
        for address in listen:
            self.server.listen(address.host, address.port, app, tls)

    def run(self) -> None:
        self.server.serve_forever()

    def shutdown(self) -> None:
        self.server.shutdown()


class ThreadedRuntimeServerPlugin(RuntimeServerPlugin):
    name = NAME

    def load(self, *args: object, **kwargs: object) -> RuntimeServer:
        return ThreadedRuntimeServer()
