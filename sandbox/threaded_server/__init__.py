"""LocalStack's gateway served by one thread per connection instead of Twisted's reactor.

With Twisted, every request crosses threads twice: the reactor thread parses it, hands it to a
worker thread for LocalStack's handler chain, and each write of the answer goes back to the
reactor and waits there. Under load that reactor thread held 55 % of LocalStack's GIL
(docs/performance.md). Here the thread that reads a connection also runs the handler chain
for each of its requests and writes the answer itself: one GIL holder per request, no
hand-offs.

- :mod:`.http1`: HTTP/1.1 on a socket: the request into a WSGI environment as Twisted builds
  it, the answer out;
- :mod:`.server`: listening, TLS on the same port, a thread per connection, shutdown;
- :mod:`.plugin`: LocalStack's published seam for its server (``localstack.runtime.server``).

Neither of the first two imports LocalStack; :mod:`sandbox.speedups.threaded_server` picks
this server when LocalStack starts.
"""
