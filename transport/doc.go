// Package transport moves golocust's master/worker messages (package
// locustpb) over one bidirectional gRPC stream per worker. It owns
// connecting, the Hello/Ack handshake, authentication (optional TLS and
// mutual TLS, a shared worker token), limits (message size, worker cap,
// keepalive) and shutdown; the runners decide what the messages mean.
//
// Master side:
//
//	srv, err := transport.NewServer(transport.ServerOptions{BindHost: "127.0.0.1", BindPort: 5557, Token: tok})
//	go srv.Serve(ctx)                  // until ctx is cancelled
//	for {
//		sess, err := srv.Accept(ctx)   // a worker that passed the handshake
//		// sess.ID(), sess.Index(), sess.Send(msg), sess.Recv(), sess.Reconnect(why), sess.Close(code, why)
//	}
//
// Worker side:
//
//	c, err := transport.NewClient(transport.ClientOptions{Address: "127.0.0.1:5557", Token: tok})
//	defer c.Close()
//	st, err := c.Connect(ctx)          // bounded retries with backoff, then Hello/Ack
//	// st.Index(), st.Send(msg), st.Recv(), st.Close(why); Connect again after a Reconnect
//
// # Handshake and refusals
//
// Before any message is read, the token (if configured) is checked in a
// stream interceptor in constant time (Unauthenticated), then the worker
// cap (ResourceExhausted). The worker's first message must be Hello; a
// different major protocol version is refused with FailedPrecondition
// (logged on the master; the worker's Connect returns an error wrapping
// ErrIncompatibleVersion). The master answers Ack with an index in 0..W-1:
// the lowest free one, or the worker's previous one if still free.
//
// A worker id is bound to its live stream: a hello for an id whose stream
// is live is refused (AlreadyExists), so that nobody who reads ids in the
// web UI can take a worker's session over. A worker whose connection died
// without the master noticing takes its id back once the old stream has
// been silent for ServerOptions.TakeoverAfter (3 s; the old stream ends
// with Aborted). Under mutual TLS an id is also bound to the common name
// of the certificate that first used it (another one: PermissionDenied).
//
// Before any of that, every connection has ServerOptions.AuthTimeout (5 s)
// for a worker on it to complete the handshake, or it is closed; at most
// MaxUnauthenticated (256) such connections are open at once, the oldest
// being closed past that. Connections that never open a stream, or never
// finish TLS, thus cannot exhaust the master's file descriptors.
//
// A worker's Connect does not retry a wrong token, an incompatible version,
// a refused TLS certificate or an id bound to another certificate; it
// retries an unreachable or full master, and an id still held by a live
// stream.
//
// # Ending streams
//
// Session.Close(codes.OK, why) sends Goodbye and ends the stream cleanly
// (the worker's Recv returns io.EOF after the Goodbye); another code ends it
// with that status. Session.Reconnect sends Reconnect and ends the stream
// with Aborted: either one means "Connect again" to a worker. Serve's
// context cancellation ends every session with Unavailable.
//
// Session.Recv returns an error wrapping ErrBadMessage for bad input. A
// message that decoded but failed validation (locustpb.ValidateWorkerMessage)
// leaves the stream open for the runner to decide (Locust tells that one
// worker to reconnect: Session.Reconnect). A message that failed to decode
// (Internal) or exceeded MaxMessageSize (ResourceExhausted) has already
// ended that worker's stream in gRPC; the worker sees the status and
// connects again. Other workers are unaffected either way.
//
// Every goroutine the package starts ends with Serve's context, the
// stream's context, or Client.Close.
package transport
